"""Create and edit a customer: the API's refusals shown beside the fields they name, and the
likely duplicates shown before a create, to open one of them or create anyway."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from web_console.entrypoints.customer import page_path
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


def _form_page(
    screen: Screen,
    *,
    customer: dict[str, Any] | None,
    entered: dict[str, Any],
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    duplicates: list[dict[str, Any]] | None = None,
    was: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return screen.render(
        "customer_form.html",
        status_code=status_code,
        customer=customer,
        entered=entered,
        was=was or {},
        errors=errors or {},
        problem=problem,
        duplicates=duplicates or [],
        roles=ROLES,
        segments=SEGMENTS,
        languages=LANGUAGES,
        details=DETAILS,
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
    return _form_page(screen, customer=None, entered=entered)


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
    entered = dict(form)
    if form.get("create_anyway") != "1":
        duplicates = await likely_duplicates(screen, body)
        if duplicates:
            return _form_page(screen, customer=None, entered=entered, duplicates=duplicates)
    answer = await screen.call("POST", "/v1/customers", json=body)
    if answer.ok:
        return see_other(page_path(answer.body["id"], "details", answer.body.get("position")))
    return _form_page(
        screen,
        customer=None,
        entered=entered,
        errors=answer.field_errors(),
        problem=answer.reason,
        status_code=answer.status if answer.status < 500 else 502,
    )


EDITED = (*DETAILS, "segment", "show_note_on_selection")


def form_values(customer: dict[str, Any]) -> dict[str, str]:
    """A customer's editable fields as the form shows them."""
    values = {name: "" if customer.get(name) is None else str(customer[name]) for name in EDITED}
    values["show_note_on_selection"] = "on" if customer.get("show_note_on_selection") else ""
    return values


@router.get("/{customer_id}/edit")
async def edit_form(customer_id: Id, screen: ScreenDep) -> Response:
    answer = await screen.call("GET", f"/v1/customers/{customer_id}")
    if not answer.ok:
        return screen.render("message.html", status_code=answer.status, message=answer.reason)
    values = form_values(answer.body)
    return _form_page(screen, customer=answer.body, entered=values, was=values)


@router.post("/{customer_id}/edit")
async def save_edit(customer_id: Id, screen: ScreenDep) -> Response:
    """Only what this person changed is sent, with the version they saw: a change someone made
    meanwhile is a 412, and the form then shows it beside this person's own changes."""
    form = await screen.form()
    entered = {name: str(form.get(name, "")).strip() for name in EDITED}
    changed = [name for name in EDITED if entered[name] != str(form.get(f"was.{name}", ""))]
    if not changed:
        return see_other(page_path(customer_id, "details"))
    details = _details(form)
    version = str(form.get("version", ""))
    answer = await screen.call(
        "PATCH",
        f"/v1/customers/{customer_id}",
        json={name: details[name] for name in changed},
        headers={"If-Match": version} if version.isdigit() else {},
    )
    if answer.ok:
        return see_other(page_path(customer_id, "details", answer.body.get("position")))
    current = await screen.call("GET", f"/v1/customers/{customer_id}")
    if not current.ok:
        return screen.render("message.html", status_code=current.status, message=current.reason)
    now = form_values(current.body)
    problem = screen.t("edit.changed_meanwhile") if answer.status == 412 else answer.reason
    return _form_page(
        screen,
        customer=current.body,
        entered={**now, **{name: entered[name] for name in changed}},
        was=now,
        errors=answer.field_errors(),
        problem=problem,
        status_code=answer.status if answer.status < 500 else 502,
    )
