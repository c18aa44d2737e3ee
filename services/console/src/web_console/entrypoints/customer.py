"""The customer page: its header and tabs (details, contacts, locations, equipment, activity,
notifications, attachments, history), and the small forms on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from web_console.api import Answer
from web_console.entrypoints.if_match import RecordForm, Values
from web_console.refusals import refusal
from web_console.screens import PREFIX, Id, Screen, ScreenDep, see_other

router = APIRouter(prefix=PREFIX + "/customers/{customer_id}", include_in_schema=False)
RELATIONS_SHOWN = 20
RELATION_KINDS = ("related", "parent", "child")
TABS = (
    "details",
    "contacts",
    "locations",
    "equipment",
    "activity",
    "notifications",
    "attachments",
    "history",
)
ACTIVITY_KINDS = ("comment", "call", "visit", "email")


def fresh(seen: str | None) -> dict[str, str]:
    """Read at least up to what this person just wrote (a command's position)."""
    return {"X-Min-Position": seen} if seen and seen.isdigit() else {}


def page_path(customer_id: str, tab: str, position: Any = None) -> str:
    seen = f"&seen={position}" if isinstance(position, int) else ""
    return f"{PREFIX}/customers/{customer_id}?tab={tab}{seen}"


async def load_customer(screen: Screen, customer_id: Id, **params: str) -> Answer:
    seen = fresh(screen.request.query_params.get("seen"))
    return await screen.call("GET", f"/v1/customers/{customer_id}", params=params, headers=seen)


@router.get("")
async def customer_page(customer_id: Id, screen: ScreenDep) -> Response:
    tab = screen.request.query_params.get("tab", "details")
    return await show(screen, customer_id, tab if tab in TABS else "details")


async def show(
    screen: Screen,
    customer_id: str,
    tab: str,
    *,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    entered: FormData | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    answer = await load_customer(screen, customer_id)
    if not answer.ok:
        return screen.render("message.html", status_code=answer.status, message=answer.reason)
    customer = answer.body
    if customer["id"] != customer_id:  # a merged duplicate answers with its survivor
        return see_other(f"{PREFIX}/customers/{customer['id']}?tab={tab}&merged_from={customer_id}")
    context = await TAB_DATA[tab](screen, customer)
    return screen.render(
        "customer.html",
        status_code=status_code,
        customer=customer,
        tab=tab,
        tabs=TABS,
        problem=problem,
        errors=errors or {},
        entered=entered or {},
        merged_from=screen.request.query_params.get("merged_from"),
        activity_kinds=ACTIVITY_KINDS,
        relation_kinds=RELATION_KINDS,
        **{**context, **extra},  # what a failed form sends back wins over the tab's own data
    )


async def _details(screen: Screen, customer: dict[str, Any]) -> dict[str, Any]:
    """The related customers by name, and those a search for one to relate found."""
    names: dict[str, str] = {}
    for relation in customer["relations"][:RELATIONS_SHOWN]:
        other = await screen.call("GET", f"/v1/customers/{relation['customer_id']}")
        names[relation["customer_id"]] = (other.body.get("name") or "") if other.ok else ""
    search = screen.request.query_params.get("relate_q", "").strip()
    found: list[dict[str, Any]] = []
    if search:
        answer = await screen.call("GET", "/v1/customers", params={"q": search, "limit": 10})
        items = answer.body["items"] if answer.ok else []
        found = [c for c in items if c["id"] != customer["id"]]
    return {"related_names": names, "relate_q": search, "relate_found": found}


CONTACT_TEXTS = ("name", "email", "phone", "position")
CONTACT_CHECKS = ("notify_email", "notify_sms", "equipment_alerts", "portal_access")


def contact_values(contact: dict[str, Any]) -> dict[str, str]:
    """A contact's editable fields as its edit form shows them."""
    values = {name: contact.get(name) or "" for name in CONTACT_TEXTS}
    checked = {
        "notify_email": contact["notify"]["email"],
        "notify_sms": contact["notify"]["sms"],
        "equipment_alerts": contact["equipment_alerts"],
        "portal_access": contact["portal_access"],
    }
    return {**values, **{name: "on" if on else "" for name, on in checked.items()}}


def _edit_form(
    records: list[dict[str, Any]],
    id_key: str,
    chosen: str | None,
    values: Callable[[dict[str, Any]], Values],
) -> RecordForm | None:
    """The record chosen for editing, with the values its form starts from."""
    record = next((r for r in records if chosen and r[id_key] == chosen), None)
    return None if record is None else RecordForm(record, values(record), values(record))


async def _contacts(screen: Screen, customer: dict[str, Any]) -> dict[str, Any]:
    chosen = screen.request.query_params.get("edit_contact")
    return {"edit_form": _edit_form(customer["contacts"], "contact_id", chosen, contact_values)}


LOCATION_TEXTS = ("label", "street", "postal_code", "city", "country")


def location_values(location: dict[str, Any]) -> dict[str, str]:
    """A location's editable fields as its edit form shows them."""
    values = {name: location.get(name) or "" for name in LOCATION_TEXTS}
    geo = location.get("geo") or {}
    coordinates = {
        name: str(geo[name]) if name in geo else "" for name in ("latitude", "longitude")
    }
    return {**values, **coordinates}


async def _locations(screen: Screen, customer: dict[str, Any]) -> dict[str, Any]:
    chosen = screen.request.query_params.get("edit_location")
    locations = customer["locations"]
    return {"edit_form": _edit_form(locations, "location_id", chosen, location_values)}


async def _equipment(screen: Screen, customer: dict[str, Any]) -> dict[str, Any]:
    seen = fresh(screen.request.query_params.get("seen"))
    owned = await screen.call(
        "GET", "/v1/equipment", params={"customer_id": customer["id"], "limit": 200}, headers=seen
    )
    found: list[dict[str, Any]] = []
    search = screen.request.query_params.get("equipment_q", "").strip()
    if search:
        matches = await screen.call("GET", "/v1/equipment", params={"q": search, "limit": 20})
        found = matches.body["items"] if matches.ok else []
    return {
        "equipment": owned.body["items"] if owned.ok else [],
        "equipment_found": found,
        "equipment_q": search,
    }


async def _activity(screen: Screen, customer: dict[str, Any]) -> dict[str, Any]:
    seen = fresh(screen.request.query_params.get("seen"))
    path = f"/v1/customers/{customer['id']}/activities"
    answer = await screen.call("GET", path, params={"limit": 100}, headers=seen)
    return {"timeline": answer.body["items"] if answer.ok else []}


async def _deliveries(screen: Screen, customer: dict[str, Any]) -> dict[str, Any]:
    answer = await screen.call(
        "GET", "/v1/notifications", params={"customer_id": customer["id"], "limit": 50}
    )
    items = answer.body["items"] if answer.ok else []
    return {"deliveries": items, "pending": any(d["status"] == "pending" for d in items)}


def file_size(screen: Screen, size: int) -> str:
    """Bytes as people read them, in the units of their language."""
    if size < 1024:
        return screen.t("size.bytes", n=size)
    if size < 1024 * 1024:
        return screen.t("size.kib", n=f"{size / 1024:.1f}")
    return screen.t("size.mib", n=f"{size / (1024 * 1024):.1f}")


async def _attachments(screen: Screen, customer: dict[str, Any]) -> dict[str, Any]:
    answer = await screen.call("GET", f"/v1/customers/{customer['id']}/attachments")
    items = answer.body["items"] if answer.ok else []
    for item in items:
        item["size_text"] = file_size(screen, item["size"])
    return {"attachments": items}


async def _history(screen: Screen, customer: dict[str, Any]) -> dict[str, Any]:
    path = f"/v1/customers/{customer['id']}/history"
    answer = await screen.call("GET", path, params={"limit": 200})
    events = list(reversed(answer.body["items"])) if answer.ok else []
    at = screen.request.query_params.get("at", "")
    chosen = int(at) if at.isdigit() and int(at) < len(events) else len(events) - 1
    earlier = None
    if events and chosen < len(events) - 1:
        as_of = await screen.call(
            "GET", f"/v1/customers/{customer['id']}", params={"as_of": events[chosen]["time"]}
        )
        earlier = as_of.body if as_of.ok else None
    verdict = None
    if screen.request.query_params.get("verify") and screen.me.is_admin:
        checked = await screen.call("GET", f"{path}/verify")
        verdict = checked.body if checked.ok else {"verified": False, "problem": checked.reason}
    return {"events": events, "chosen": chosen, "earlier": earlier, "verdict": verdict}


TAB_DATA = {
    "details": _details,
    "contacts": _contacts,
    "locations": _locations,
    "equipment": _equipment,
    "activity": _activity,
    "notifications": _deliveries,
    "attachments": _attachments,
    "history": _history,
}


async def run(
    screen: Screen,
    customer_id: str,
    tab: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    entered: FormData | None = None,
) -> Response:
    """Send one command; back to the tab on success, the tab with the refusal otherwise."""
    answer = await screen.call(method, path, json=body)
    if answer.ok:
        position = answer.body.get("position") if isinstance(answer.body, dict) else None
        return see_other(page_path(customer_id, tab, position))
    refused = refusal(screen.t, answer)
    return await show(
        screen,
        customer_id,
        tab,
        problem=refused.problem,
        errors=refused.errors,
        entered=entered,
        status_code=refused.status_code,
    )


def _text(form: FormData, name: str) -> str | None:
    value = str(form.get(name, "")).strip()
    return value or None


def contact_body(form: FormData) -> dict[str, Any]:
    return {
        "name": _text(form, "name"),
        "email": _text(form, "email"),
        "phone": _text(form, "phone"),
        "position": _text(form, "position"),
        "main": form.get("main") == "on",
        "notify": {
            "email": form.get("notify_email") == "on",
            "sms": form.get("notify_sms") == "on",
        },
        "equipment_alerts": form.get("equipment_alerts") == "on",
        "portal_access": form.get("portal_access") == "on",
    }


def location_body(form: FormData) -> dict[str, Any]:
    body: dict[str, Any] = {
        name: _text(form, name) for name in ("label", "street", "postal_code", "city", "country")
    }
    latitude, longitude = _text(form, "latitude"), _text(form, "longitude")
    if latitude or longitude:
        body["geo"] = {"latitude": latitude, "longitude": longitude}
    body["main"] = form.get("main") == "on"
    return body


@router.post("/contacts")
async def add_contact(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    path = f"/v1/customers/{customer_id}/contacts"
    return await run(
        screen, customer_id, "contacts", "POST", path, body=contact_body(form), entered=form
    )


@router.post("/contacts/{contact_id}/main")
async def make_main_contact(customer_id: Id, contact_id: Id, screen: ScreenDep) -> Response:
    await screen.form()
    path = f"/v1/customers/{customer_id}/contacts/{contact_id}"
    return await run(screen, customer_id, "contacts", "PATCH", path, body={"main": True})


@router.post("/contacts/{contact_id}/preferences")
async def change_contact_preferences(
    customer_id: Id, contact_id: Id, screen: ScreenDep
) -> Response:
    form = await screen.form()
    body = {
        "notify": {
            "email": form.get("notify_email") == "on",
            "sms": form.get("notify_sms") == "on",
        },
        "equipment_alerts": form.get("equipment_alerts") == "on",
        "portal_access": form.get("portal_access") == "on",
    }
    path = f"/v1/customers/{customer_id}/contacts/{contact_id}"
    return await run(screen, customer_id, "contacts", "PATCH", path, body=body)


@router.post("/contacts/{contact_id}/remove")
async def remove_contact(customer_id: Id, contact_id: Id, screen: ScreenDep) -> Response:
    await screen.form()
    path = f"/v1/customers/{customer_id}/contacts/{contact_id}"
    return await run(screen, customer_id, "contacts", "DELETE", path)


@router.post("/locations")
async def add_location(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    path = f"/v1/customers/{customer_id}/locations"
    return await run(
        screen, customer_id, "locations", "POST", path, body=location_body(form), entered=form
    )


@router.post("/locations/{location_id}/main")
async def make_main_location(customer_id: Id, location_id: Id, screen: ScreenDep) -> Response:
    await screen.form()
    path = f"/v1/customers/{customer_id}/locations/{location_id}/make-main"
    return await run(screen, customer_id, "locations", "POST", path)


@router.post("/locations/{location_id}/remove")
async def remove_location(customer_id: Id, location_id: Id, screen: ScreenDep) -> Response:
    await screen.form()
    path = f"/v1/customers/{customer_id}/locations/{location_id}"
    return await run(screen, customer_id, "locations", "DELETE", path)


@router.post("/labels")
async def add_label(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    label = _text(form, "label") or ""
    path = f"/v1/customers/{customer_id}/labels/{quote(label, safe='')}"
    return await run(screen, customer_id, "details", "PUT", path, entered=form)


@router.post("/labels/remove")
async def remove_label(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    label = quote(str(form.get("label", "")), safe="")
    path = f"/v1/customers/{customer_id}/labels/{label}"
    return await run(screen, customer_id, "details", "DELETE", path)


@router.post("/relations")
async def relate(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    body = {"other_customer_id": _text(form, "other"), "relation": _text(form, "relation")}
    path = f"/v1/customers/{customer_id}/relations"
    return await run(screen, customer_id, "details", "POST", path, body=body)


@router.post("/relations/{other_id}/remove")
async def unrelate(customer_id: Id, other_id: Id, screen: ScreenDep) -> Response:
    await screen.form()
    path = f"/v1/customers/{customer_id}/relations/{other_id}"
    return await run(screen, customer_id, "details", "DELETE", path)


@router.post("/activities")
async def record_activity(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    body = {"kind": str(form.get("kind", "comment")), "text": _text(form, "text")}
    path = f"/v1/customers/{customer_id}/activities"
    return await run(screen, customer_id, "activity", "POST", path, body=body, entered=form)


@router.post("/equipment")
async def assign_equipment(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    body = {
        "equipment_ids": form.getlist("equipment_ids"),
        "transfer": form.get("transfer") == "on",
    }
    path = f"/v1/customers/{customer_id}/equipment"
    answer = await screen.call("POST", path, json=body)
    if answer.ok:
        return see_other(page_path(customer_id, "equipment", answer.body.get("position")))
    # Owned by another customer: ask before taking it from them.
    transfer = answer.status == 409 and not body["transfer"]
    return await show(
        screen,
        customer_id,
        "equipment",
        problem=answer.reason,
        status_code=answer.status,
        transfer_ids=body["equipment_ids"] if transfer else [],
    )


@router.post("/equipment/{equipment_id}/unassign")
async def unassign_equipment(customer_id: Id, equipment_id: Id, screen: ScreenDep) -> Response:
    await screen.form()
    path = f"/v1/customers/{customer_id}/equipment/{equipment_id}"
    return await run(screen, customer_id, "equipment", "DELETE", path)


@router.post("/notify")
async def send_technician_en_route(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    body = {
        "customer_id": customer_id,
        "template": "technician_en_route",
        "params": {"technician": _text(form, "technician"), "eta": _text(form, "eta")},
    }
    answer = await screen.call("POST", "/v1/notifications", json=body)
    if answer.ok and answer.body.get("nothing_to_deliver"):
        # Accepted, yet no contact opted in on any channel: say why nothing went out.
        reason = answer.body["nothing_to_deliver"]
        return await show(screen, customer_id, "notifications", problem=reason)
    if answer.ok:
        return see_other(page_path(customer_id, "notifications"))
    refused = refusal(screen.t, answer)
    return await show(
        screen,
        customer_id,
        "notifications",
        problem=refused.problem,
        errors=refused.errors,
        entered=form,
        status_code=answer.status,
    )
