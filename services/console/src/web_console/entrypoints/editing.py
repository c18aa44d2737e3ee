"""Create and edit a customer: the API's refusals shown beside the fields they name, and the
likely duplicates shown before a create, to open one of them or create anyway."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from web_console.entrypoints.customer import page_path
from web_console.entrypoints.if_match import Editable, RecordForm, fetched, open_form, save
from web_console.refusals import refusal, render_form
from web_console.screens import PREFIX, Id, Screen, ScreenDep, see_other

router = APIRouter(prefix=PREFIX + "/customers", include_in_schema=False)

DETAILS = (
    "name",
    "internal_name",
    "customer_number",
    "region",
    "language",
    "email",
    "phone",
    "price_list",
    "discount_percent",
    "tax_override",
    "note",
)
ADDRESS = ("street", "postal_code", "city", "country")
ROLES = ("prospect", "customer", "supplier")
SEGMENTS = ("other", "dealer", "service_provider", "rental", "end_user")
LANGUAGES = ("fr", "en", "de")


def _value(form: FormData, name: str) -> str | None:
    value = str(form.get(name, "")).strip()
    return value or None


def _details(form: FormData) -> dict[str, Any]:
    body: dict[str, Any] = {name: _value(form, name) for name in DETAILS}
    body["segment"] = _value(form, "segment")
    body["show_note_on_selection"] = form.get("show_note_on_selection") == "on"
    return body


def new_customer_body(form: FormData) -> dict[str, Any]:
    body = {name: value for name, value in _details(form).items() if value is not None}
    body["kind"] = _value(form, "kind") or "company"
    body["roles"] = [role for role in ROLES if form.get(f"role_{role}") == "on"]
    address = {part: _value(form, f"main_location.{part}") for part in ADDRESS}
    body["main_location"] = {part: value for part, value in address.items() if value is not None}
    return body


async def _form_page(
    screen: Screen, form: RecordForm, duplicates: list[dict[str, Any]] | None = None
) -> Response:
    choices = {"roles": ROLES, "segments": SEGMENTS, "languages": LANGUAGES, "details": DETAILS}
    return render_form(
        screen,
        "customer_form.html",
        form.refusal,
        customer=form.record,
        entered=form.values,
        was=form.was,
        duplicates=duplicates or [],
        **choices,
    )


@router.get("/new")
async def new_customer_form(screen: ScreenDep) -> Response:
    screen.require_sign_in()
    entered = {
        "kind": "company",
        "segment": "other",
        "role_customer": "on",
        "language": screen.t.locale,
    }
    return await _form_page(screen, RecordForm(None, entered))


async def likely_duplicates(screen: Screen, body: dict[str, Any]) -> list[dict[str, Any]]:
    probe = {name: body[name] for name in ("name", "email", "phone") if body.get(name)}
    if not probe:
        return []
    answer = await screen.call("GET", "/v1/customers/duplicates", params=probe)
    items: list[dict[str, Any]] = answer.body["items"] if answer.ok else []
    return items


@router.post("/new")
async def create_customer(screen: ScreenDep) -> Response:
    form = await screen.form()
    body = new_customer_body(form)
    entered = {name: str(value) for name, value in form.items()}
    if form.get("create_anyway") != "1":
        duplicates = await likely_duplicates(screen, body)
        if duplicates:
            return await _form_page(screen, RecordForm(None, entered), duplicates)
    answer = await screen.call("POST", "/v1/customers", json=body)
    if answer.ok:
        return see_other(page_path(answer.body["id"], "details", answer.body.get("position")))
    return await _form_page(screen, RecordForm(None, entered, refusal=refusal(screen.t, answer)))


EDITED = (*DETAILS, "segment", "show_note_on_selection")


def form_values(customer: dict[str, Any]) -> dict[str, str]:
    """A customer's editable fields as the form shows them."""
    values = {name: "" if customer.get(name) is None else str(customer[name]) for name in EDITED}
    values["show_note_on_selection"] = "on" if customer.get("show_note_on_selection") else ""
    return values


CUSTOMER = Editable(
    fields=EDITED,
    values=form_values,
    changed_meanwhile="edit.changed_meanwhile",
    checks=("show_note_on_selection",),
)


@router.get("/{customer_id}/edit")
async def edit_form(customer_id: Id, screen: ScreenDep) -> Response:
    answer = await screen.call("GET", f"/v1/customers/{customer_id}")
    return await open_form(screen, CUSTOMER, answer, partial(_form_page, screen))


@router.post("/{customer_id}/edit")
async def save_edit(customer_id: Id, screen: ScreenDep) -> Response:
    """Only what this person changed is sent, with the version they saw: a change someone made
    meanwhile is a 412, and the form then shows it beside this person's own changes."""
    path = f"/v1/customers/{customer_id}"
    return await save(
        screen,
        CUSTOMER,
        path=path,
        back=partial(page_path, customer_id, "details"),
        current=fetched(screen, path),
        show=partial(_form_page, screen),
    )
