"""Edit a location on the customer's locations tab: only what this person changed is sent, with
the customer's version they saw, so a change made meanwhile is a 412 shown beside their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from web_console.entrypoints.customer import (
    LOCATION_TEXTS,
    load_customer,
    location_values,
    page_path,
    show,
)
from web_console.screens import PREFIX, Id, ScreenDep, see_other

router = APIRouter(prefix=PREFIX + "/customers/{customer_id}/locations", include_in_schema=False)
EDITED = (*LOCATION_TEXTS, "latitude", "longitude")


def entered_values(form: FormData) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in EDITED}


def location_patch(entered: dict[str, str], changed: list[str]) -> dict[str, Any]:
    """The changed fields as the API names them; an emptied text clears it (null), and the
    two coordinates travel together as `geo`, cleared when both are emptied."""
    body: dict[str, Any] = {
        name: entered[name] or None for name in LOCATION_TEXTS if name in changed
    }
    if {"latitude", "longitude"} & set(changed):
        latitude, longitude = entered["latitude"], entered["longitude"]
        body["geo"] = (
            {"latitude": latitude or None, "longitude": longitude or None}
            if latitude or longitude
            else None
        )
    return body


def beside_fields(errors: dict[str, str]) -> dict[str, str]:
    """`geo.latitude` beside the latitude; a point refused as a whole (off the earth) beside
    the coordinate its message names, the latitude when it names none."""
    shown = {name.removeprefix("geo."): message for name, message in errors.items()}
    if "geo" in shown:
        message = shown.pop("geo")
        shown.setdefault("longitude" if "longitude" in message else "latitude", message)
    return shown


@router.post("/{location_id}/edit")
async def save_location(customer_id: Id, location_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    entered = entered_values(form)
    changed = [name for name in EDITED if entered[name] != str(form.get(f"was.{name}", ""))]
    if not changed:
        return see_other(page_path(customer_id, "locations"))
    version = str(form.get("version", ""))
    answer = await screen.call(
        "PATCH",
        f"/v1/customers/{customer_id}/locations/{location_id}",
        json=location_patch(entered, changed),
        headers={"If-Match": version} if version.isdigit() else {},
    )
    if answer.ok:
        return see_other(page_path(customer_id, "locations", answer.body.get("position")))
    problem = screen.t("locations.changed_meanwhile") if answer.status == 412 else answer.reason
    status_code = answer.status if answer.status < 500 else 502
    current = await load_customer(screen, customer_id)
    locations = current.body.get("locations", []) if current.ok else []
    location = next((x for x in locations if x["location_id"] == location_id), None)
    if location is None:  # removed meanwhile: nothing left to edit
        gone = screen.t("locations.gone")
        return await show(screen, customer_id, "locations", problem=gone, status_code=status_code)
    now = location_values(location)
    edit = {
        "location": location,
        "values": {**now, **{name: entered[name] for name in changed}},
        "was": now,
    }
    return await show(
        screen,
        customer_id,
        "locations",
        problem=problem,
        errors=beside_fields(answer.field_errors()),
        status_code=status_code,
        location_edit=edit,
    )
