"""The equipment list: every registered item by name, searched, filtered by business unit or
owner as `GET /v1/equipment` allows, a page at a time, each owner shown by name."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from web_console.entrypoints.customer import fresh
from web_console.entrypoints.registry import customer_from
from web_console.screens import PREFIX, Screen, ScreenDep

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 25


def chosen_filters(query: dict[str, str]) -> dict[str, str]:
    """The search and filters the API takes; an owner that is not a customer id is dropped."""
    filters = {name: query.get(name, "").strip()[:200] for name in ("q", "business_unit")}
    owner = customer_from(query.get("customer_id"))
    if owner:
        filters["customer_id"] = owner
    return {name: value for name, value in filters.items() if value}


@router.get("/equipment")
async def equipment_list(screen: ScreenDep) -> Response:
    screen.require_sign_in()
    query = dict(screen.request.query_params)
    filters = chosen_filters(query)
    params = [*filters.items(), ("limit", str(PAGE_SIZE))]
    if query.get("cursor"):
        params.append(("cursor", query["cursor"]))
    seen = fresh(query.get("seen"))
    answer = await screen.call("GET", "/v1/equipment", params=params, headers=seen)
    page: dict[str, Any] = answer.body if answer.ok else {"items": [], "next_cursor": None}
    owner_ids = {item["owner_id"] for item in page["items"] if item.get("owner_id")}
    owner_ids.add(filters.get("customer_id", ""))
    owners = await _names(screen, owner_ids)
    return screen.render(
        "equipment_list_results.html" if query.get("partial") else "equipment_list.html",
        filters=filters,
        any_owner={name: value for name, value in filters.items() if name != "customer_id"},
        items=page["items"],
        owners=owners,
        next_cursor=page.get("next_cursor"),
        cursor=query.get("cursor"),
        problem=None if answer.ok else answer.reason,
    )


async def _names(screen: Screen, customer_ids: set[str]) -> dict[str, str]:
    """Each owner's name; one the API does not show (erased, not found) stays unnamed."""
    ids = sorted(customer_id for customer_id in customer_ids if customer_from(customer_id))
    found = await asyncio.gather(*(screen.call("GET", f"/v1/customers/{i}") for i in ids))
    return {
        customer_id: answer.body.get("name") or ""
        for customer_id, answer in zip(ids, found, strict=True)
        if answer.ok
    }
