"""The customers list: search as you type, filters, sort, paging, mass actions, export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from web_console.screens import PREFIX, ScreenDep, see_other

router = APIRouter(prefix=PREFIX, include_in_schema=False)

FILTERS = ("q", "role", "label", "region", "segment", "kind", "sort")
STATUSES = ("", "archived", "anonymised", "all")
SORTS = ("name", "-name", "customer_number", "-created_at", "-updated_at")
ROLES = ("prospect", "customer", "supplier")
SEGMENTS = ("dealer", "service_provider", "rental", "end_user", "other")
KINDS = ("person", "company")
BULK_ACTIONS = (
    "add-label",
    "remove-label",
    "assign-employee",
    "reactivate",
    "archive",
    "convert-to-customer",
)
ADMIN_BULK = frozenset({"archive", "convert-to-customer"})
PAGE_SIZE = 25


def chosen_filters(query: dict[str, str]) -> dict[str, str]:
    return {
        name: query[name].strip() for name in (*FILTERS, "status") if query.get(name, "").strip()
    }


def api_params(filters: dict[str, str]) -> list[tuple[str, str]]:
    """The list's filters as the API's query: `all` statuses are the active ones plus both
    hidden ones; no status, the active ones only (the API's default)."""
    params = [(name, value) for name, value in filters.items() if name != "status"]
    status = filters.get("status", "")
    if status == "all":
        params += [("include", "archived"), ("include", "anonymised")]
    elif status:
        params.append(("status", status))
    return params


@router.get("/customers")
async def customers_list(screen: ScreenDep) -> Response:
    screen.require_sign_in()
    query = dict(screen.request.query_params)
    filters = chosen_filters(query)
    params = [*api_params(filters), ("limit", str(PAGE_SIZE))]
    if query.get("cursor"):
        params.append(("cursor", query["cursor"]))
    seen = query.get("seen", "")
    headers = {"X-Min-Position": seen} if seen.isdigit() else {}
    answer = await screen.call("GET", "/v1/customers", params=params, headers=headers)
    page: dict[str, Any] = answer.body if answer.ok else {"items": [], "next_cursor": None}
    template = "customers_results.html" if query.get("partial") else "customers.html"
    return screen.render(
        template,
        filters=filters,
        customers=page["items"],
        next_cursor=page.get("next_cursor"),
        cursor=query.get("cursor"),
        problem=None if answer.ok else answer.reason,
        statuses=STATUSES,
        sorts=SORTS,
        roles=ROLES,
        segments=SEGMENTS,
        kinds=KINDS,
        bulk_actions=[a for a in BULK_ACTIONS if screen.me.is_admin or a not in ADMIN_BULK],
        outcome=_outcome(query),
    )


def _outcome(query: dict[str, str]) -> dict[str, str] | None:
    if "deleted" in query:
        return {"deleted": "1"}
    if "done" not in query:
        return None
    return {"done": query.get("done", "0"), "refused": query.get("refused", "0")}


@router.post("/customers/bulk")
async def mass_action(screen: ScreenDep) -> Response:
    form = await screen.form()
    ids = [str(value) for value in form.getlist("ids")]
    action = str(form.get("action", ""))
    value = str(form.get("value", "")).strip()
    params: dict[str, str] = {}
    if action in ("add-label", "remove-label"):
        params["label"] = value
    elif action.endswith("-employee"):
        params["employee_id"] = value
    back = str(form.get("back", "")) or ""
    if not ids:
        return see_other(f"{PREFIX}/customers?{back}")
    answer = await screen.call(
        "POST", "/v1/customers/bulk", json={"action": action, "ids": ids, "params": params}
    )
    if not answer.ok:
        return screen.render("message.html", status_code=answer.status, message=answer.reason)
    done, refused = answer.body["succeeded"], answer.body["refused"]
    seen = max((item.get("position") or 0 for item in answer.body["items"]), default=0)
    separator = "&" if back else ""
    return see_other(
        f"{PREFIX}/customers?{back}{separator}done={done}&refused={refused}&seen={seen}"
    )


@router.get("/customers/export")
async def export(screen: ScreenDep) -> Response:
    query = dict(screen.request.query_params)
    file_format = "xlsx" if query.get("format") == "xlsx" else "csv"
    params = [("format", file_format), *api_params(chosen_filters(query))]
    answer = await screen.call("GET", "/v1/customers/export", params=params)
    if not answer.ok:
        return screen.render("message.html", status_code=answer.status, message=answer.reason)
    headers = {
        name: answer.headers[name]
        for name in ("content-type", "content-disposition")
        if name in answer.headers
    }
    return Response(answer.content, headers=headers)
