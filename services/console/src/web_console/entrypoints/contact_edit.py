"""Edit a contact on the customer's contacts tab: only what this person changed is sent, with
the customer's version they saw, so a change made meanwhile is a 412 shown beside their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from web_console.entrypoints.customer import (
    CONTACT_CHECKS,
    CONTACT_TEXTS,
    contact_values,
    load_customer,
    page_path,
    show,
)
from web_console.screens import PREFIX, Id, ScreenDep, see_other

router = APIRouter(prefix=PREFIX + "/customers/{customer_id}/contacts", include_in_schema=False)
EDITED = (*CONTACT_TEXTS, *CONTACT_CHECKS)


def entered_values(form: FormData) -> dict[str, str]:
    texts = {name: str(form.get(name, "")).strip() for name in CONTACT_TEXTS}
    checks = {name: "on" if form.get(name) == "on" else "" for name in CONTACT_CHECKS}
    return {**texts, **checks}


def contact_patch(entered: dict[str, str], changed: list[str]) -> dict[str, Any]:
    """The changed fields as the API names them; an emptied text clears it (null)."""
    body: dict[str, Any] = {
        name: entered[name] or None for name in CONTACT_TEXTS if name in changed
    }
    if {"notify_email", "notify_sms"} & set(changed):
        body["notify"] = {
            "email": entered["notify_email"] == "on",
            "sms": entered["notify_sms"] == "on",
        }
    for name in ("equipment_alerts", "portal_access"):
        if name in changed:
            body[name] = entered[name] == "on"
    return body


@router.post("/{contact_id}/edit")
async def save_contact(customer_id: Id, contact_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    entered = entered_values(form)
    changed = [name for name in EDITED if entered[name] != str(form.get(f"was.{name}", ""))]
    if not changed:
        return see_other(page_path(customer_id, "contacts"))
    version = str(form.get("version", ""))
    answer = await screen.call(
        "PATCH",
        f"/v1/customers/{customer_id}/contacts/{contact_id}",
        json=contact_patch(entered, changed),
        headers={"If-Match": version} if version.isdigit() else {},
    )
    if answer.ok:
        return see_other(page_path(customer_id, "contacts", answer.body.get("position")))
    problem = screen.t("contacts.changed_meanwhile") if answer.status == 412 else answer.reason
    status_code = answer.status if answer.status < 500 else 502
    current = await load_customer(screen, customer_id)
    contact = (
        next((c for c in current.body.get("contacts", []) if c["contact_id"] == contact_id), None)
        if current.ok
        else None
    )
    if contact is None:  # removed meanwhile: nothing left to edit
        gone = screen.t("contacts.gone")
        return await show(screen, customer_id, "contacts", problem=gone, status_code=status_code)
    now = contact_values(contact)
    edit = {
        "contact": contact,
        "values": {**now, **{name: entered[name] for name in changed}},
        "was": now,
    }
    return await show(
        screen,
        customer_id,
        "contacts",
        problem=problem,
        errors=answer.field_errors(),
        status_code=status_code,
        contact_edit=edit,
    )
