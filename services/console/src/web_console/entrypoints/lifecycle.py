"""Archive, reactivate, convert, anonymise and delete, each confirmed with its consequence; and
the merge assistant (pick the survivor, compare field by field, confirm)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from web_console.entrypoints.customer import page_path
from web_console.screens import PREFIX, UUID_PATTERN, Id, Screen, ScreenDep, see_other

router = APIRouter(prefix=PREFIX + "/customers/{customer_id}", include_in_schema=False)

# action → (method, API route under the customer); the API says who may
ACTIONS: dict[str, tuple[str, str]] = {
    "archive": ("POST", "/archive"),
    "reactivate": ("POST", "/reactivate"),
    "convert": ("POST", "/convert-to-customer"),
    "anonymise": ("POST", "/anonymise"),
    "delete": ("DELETE", ""),
}
COMPARED = (
    "kind",
    "name",
    "internal_name",
    "customer_number",
    "region",
    "language",
    "segment",
    "email",
    "phone",
    "status",
)


async def _confirm_page(
    screen: Screen, customer_id: str, action: str, *, problem: str | None, status_code: int = 200
) -> Response:
    answer = await screen.call("GET", f"/v1/customers/{customer_id}")
    if not answer.ok:
        return screen.render("message.html", status_code=answer.status, message=answer.reason)
    return screen.render(
        "confirm.html",
        status_code=status_code,
        customer=answer.body,
        action=action,
        problem=problem,
    )


@router.get("/confirm/{action}")
async def confirm(customer_id: Id, action: str, screen: ScreenDep) -> Response:
    if action not in ACTIONS:
        return screen.render("message.html", status_code=404, message=screen.t("error.not_found"))
    return await _confirm_page(screen, customer_id, action, problem=None)


@router.post("/confirm/{action}")
async def confirmed(customer_id: Id, action: str, screen: ScreenDep) -> Response:
    form = await screen.form()
    if action not in ACTIONS:
        return screen.render("message.html", status_code=404, message=screen.t("error.not_found"))
    method, route = ACTIONS[action]
    reason = str(form.get("reason", "")).strip()
    body = {"reason": reason} if action == "archive" and reason else None
    answer = await screen.call(method, f"/v1/customers/{customer_id}{route}", json=body)
    if answer.ok and action == "delete":
        return see_other(f"{PREFIX}/customers?deleted=1")
    if answer.ok:
        return see_other(page_path(customer_id, "details", answer.body.get("position")))
    status = answer.status if answer.status < 500 else 502
    return await _confirm_page(
        screen, customer_id, action, problem=answer.reason, status_code=status
    )


def differences(left: dict[str, Any], right: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(name, left.get(name), right.get(name)) for name in COMPARED]


@router.get("/merge")
async def merge_assistant(customer_id: Id, screen: ScreenDep) -> Response:
    query = screen.request.query_params
    this = await screen.call("GET", f"/v1/customers/{customer_id}")
    if not this.ok:
        return screen.render("message.html", status_code=this.status, message=this.reason)
    candidates: list[dict[str, Any]] = []
    search = query.get("q", "").strip()
    if search:
        found = await screen.call("GET", "/v1/customers", params={"q": search, "limit": 20})
        candidates = [c for c in found.body["items"] if c["id"] != customer_id] if found.ok else []
    other = None
    if re.match(UUID_PATTERN, query.get("other", "")):
        answer = await screen.call("GET", f"/v1/customers/{query['other']}")
        other = answer.body if answer.ok and answer.body["id"] != customer_id else None
    return screen.render(
        "merge.html",
        customer=this.body,
        candidates=candidates,
        search=search,
        other=other,
        rows=differences(this.body, other) if other else [],
        problem=None,
    )


@router.post("/merge")
async def merge(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    other = str(form.get("other", ""))
    survivor = str(form.get("survivor", customer_id))
    if survivor not in (customer_id, other) or not re.match(UUID_PATTERN, other):
        return screen.render("message.html", status_code=422, message=screen.t("merge.pick"))
    duplicate = other if survivor == customer_id else customer_id
    answer = await screen.call(
        "POST", f"/v1/customers/{survivor}/merge", json={"duplicate_ids": [duplicate]}
    )
    if answer.ok:
        return see_other(page_path(survivor, "details", answer.body.get("position")))
    return screen.render("message.html", status_code=answer.status, message=answer.reason)
