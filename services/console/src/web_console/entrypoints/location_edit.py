"""Edit a location on the customer's locations tab: only what this person changed is sent, with
the customer's version they saw, so a change made meanwhile is a 412 shown beside their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from web_console.entrypoints.customer import LOCATION_TEXTS, location_values
from web_console.entrypoints.if_match import Editable
from web_console.entrypoints.tab_edit import OnTab, save_on_tab
from web_console.screens import PREFIX, Id, ScreenDep

router = APIRouter(prefix=PREFIX + "/customers/{customer_id}/locations", include_in_schema=False)


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


EDITABLE = Editable(
    fields=(*LOCATION_TEXTS, "latitude", "longitude"),
    values=location_values,
    changed_meanwhile="locations.changed_meanwhile",
    patch=location_patch,
)
LOCATION = OnTab(
    tab="locations",
    id_key="location_id",
    gone="locations.gone",
    editable=EDITABLE,
    beside=beside_fields,
)


@router.post("/{location_id}/edit")
async def save_location(customer_id: Id, location_id: Id, screen: ScreenDep) -> Response:
    return await save_on_tab(screen, LOCATION, customer_id, location_id)
