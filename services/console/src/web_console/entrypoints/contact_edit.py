"""Edit a contact on the customer's contacts tab: only what this person changed is sent, with
the customer's version they saw, so a change made meanwhile is a 412 shown beside their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from web_console.entrypoints.customer import CONTACT_CHECKS, CONTACT_TEXTS, contact_values
from web_console.entrypoints.if_match import Editable
from web_console.entrypoints.tab_edit import OnTab, save_on_tab
from web_console.screens import PREFIX, Id, ScreenDep

router = APIRouter(prefix=PREFIX + "/customers/{customer_id}/contacts", include_in_schema=False)


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


EDITABLE = Editable(
    fields=(*CONTACT_TEXTS, *CONTACT_CHECKS),
    values=contact_values,
    changed_meanwhile="contacts.changed_meanwhile",
    checks=CONTACT_CHECKS,
    patch=contact_patch,
)
CONTACT = OnTab(tab="contacts", id_key="contact_id", gone="contacts.gone", editable=EDITABLE)


@router.post("/{contact_id}/edit")
async def save_contact(customer_id: Id, contact_id: Id, screen: ScreenDep) -> Response:
    return await save_on_tab(screen, CONTACT, customer_id, contact_id)
