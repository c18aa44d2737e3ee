"""The equipment registry's screens: register an item (then, when one came from a customer's
equipment tab, offer to assign it to that customer), see one item, and edit its fields."""

from __future__ import annotations

import re
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from web_console.entrypoints.customer import fresh
from web_console.entrypoints.if_match import Editable, RecordForm, fetched, open_form, save
from web_console.refusals import refusal, render_form
from web_console.screens import PREFIX, UUID_PATTERN, Id, Screen, ScreenDep, see_other

router = APIRouter(prefix=PREFIX + "/equipment", include_in_schema=False)
FIELDS = (
    "name",
    "type",
    "brand",
    "model",
    "reference",
    "serial_number",
    "business_unit",
    "image_url",
    "description",
)


def customer_from(value: object) -> str | None:
    """The customer an item is registered for: an id, never anything else in an address."""
    text = str(value or "")
    return text if re.fullmatch(UUID_PATTERN, text) else None


def entered_values(form: FormData) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in FIELDS}


def item_values(item: dict[str, Any]) -> dict[str, str]:
    return {name: item.get(name) or "" for name in FIELDS}


def item_path(item_id: str, position: Any = None, for_customer: str | None = None) -> str:
    query = {"seen": str(position)} if isinstance(position, int) else {}
    if for_customer:
        query["for_customer"] = for_customer
    return f"{PREFIX}/equipment/{item_id}" + (f"?{urlencode(query)}" if query else "")


async def _form_page(screen: Screen, form: RecordForm, for_customer: str | None = None) -> Response:
    return render_form(
        screen,
        "equipment_form.html",
        form.refusal,
        item=form.record,
        entered=form.values,
        was=form.was,
        for_customer=for_customer,
    )


@router.get("/new")
async def register_form(screen: ScreenDep) -> Response:
    screen.require_sign_in()
    for_customer = customer_from(screen.request.query_params.get("for_customer"))
    entered = dict.fromkeys(FIELDS, "")
    return await _form_page(screen, RecordForm(None, entered), for_customer)


@router.post("/new")
async def register(screen: ScreenDep) -> Response:
    form = await screen.form()
    entered = entered_values(form)
    for_customer = customer_from(form.get("for_customer"))
    body = {name: value for name, value in entered.items() if value}
    answer = await screen.call("POST", "/v1/equipment", json=body)
    if answer.ok:
        return see_other(item_path(answer.body["id"], answer.body.get("position"), for_customer))
    refused = refusal(screen.t, answer)
    return await _form_page(screen, RecordForm(None, entered, refusal=refused), for_customer)


async def _load(screen: Screen, item_id: str) -> Any:
    seen = fresh(screen.request.query_params.get("seen"))
    return await screen.call("GET", f"/v1/equipment/{item_id}", headers=seen)


@router.get("/{item_id}")
async def item_page(item_id: Id, screen: ScreenDep) -> Response:
    answer = await _load(screen, item_id)
    if not answer.ok:
        return screen.render("message.html", status_code=answer.status, message=answer.reason)
    item = answer.body
    owner = await _customer(screen, item.get("owner_id"))
    for_customer = customer_from(screen.request.query_params.get("for_customer"))
    offer_to = None
    if for_customer and item.get("owner_id") != for_customer:
        found = await _customer(screen, for_customer)
        offer_to = found if found and found.get("status") == "active" else None
    return screen.render("equipment.html", item=item, owner=owner, offer_to=offer_to, fields=FIELDS)


async def _customer(screen: Screen, customer_id: str | None) -> dict[str, Any] | None:
    if customer_from(customer_id) is None:
        return None
    found = await screen.call("GET", f"/v1/customers/{customer_id}")
    return found.body if found.ok else None


ITEM = Editable(fields=FIELDS, values=item_values, changed_meanwhile="item.changed_meanwhile")


@router.get("/{item_id}/edit")
async def edit_form(item_id: Id, screen: ScreenDep) -> Response:
    answer = await _load(screen, item_id)
    return await open_form(screen, ITEM, answer, partial(_form_page, screen))


@router.post("/{item_id}/edit")
async def save_edit(item_id: Id, screen: ScreenDep) -> Response:
    """Only the changed fields, with the item's version seen: a change meanwhile is a 412."""
    path = f"/v1/equipment/{item_id}"
    return await save(
        screen,
        ITEM,
        path=path,
        back=partial(item_path, item_id),
        current=fetched(screen, path),
        show=partial(_form_page, screen),
    )
