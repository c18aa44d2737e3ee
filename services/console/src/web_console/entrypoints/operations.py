"""Operations (admin): each consumer's lag, the parked events to retry or skip, and each read
model's replay state (the generation serving, a rebuild in progress and how far it got)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from web_console.api import SERVICES, ServiceName
from web_console.screens import PREFIX, Screen, ScreenDep, see_other

router = APIRouter(prefix=PREFIX + "/operations", include_in_schema=False)


def _services(screen: Screen) -> tuple[ServiceName, ...]:
    """Embedded, one app answers for all; distributed, each service for its own consumers."""
    return SERVICES if screen.console.settings.distributed else ("command",)


@router.get("")
async def operations(screen: ScreenDep) -> Response:
    screen.require_sign_in()
    readiness: list[dict[str, Any]] = []
    parked: list[dict[str, Any]] = []
    for service in _services(screen):
        ready = await screen.console.api.public("/health/ready", service=service)
        body = ready.body if isinstance(ready.body, dict) else {}
        readiness.append({"service": service, "ready": ready.ok, **body})
        answer = await screen.call("GET", "/v1/admin/parked", service=service)
        if answer.status == 403:
            return screen.render("message.html", status_code=403, message=answer.reason)
        for consumer in answer.body["consumers"] if answer.ok else []:
            parked += [{"service": service, **event} for event in consumer["parked"]]
    models = await screen.call("GET", "/v1/admin/read-models", service="query")
    return screen.render(
        "operations.html",
        readiness=readiness,
        parked=parked,
        replay=models.body if models.ok else None,
        replay_problem=None if models.ok else models.reason,
    )


@router.post("/parked/{parked_id}/{decision}")
async def decide(parked_id: int, decision: str, screen: ScreenDep) -> Response:
    form = await screen.form()
    service = str(form.get("service", "command"))
    if decision not in ("retry", "skip") or service not in SERVICES:
        return screen.render("message.html", status_code=404, message=screen.t("error.not_found"))
    answer = await screen.call(
        "POST",
        f"/v1/admin/parked/{parked_id}/{decision}",
        service=service,
    )
    if not answer.ok:
        return screen.render("message.html", status_code=answer.status, message=answer.reason)
    return see_other(PREFIX + "/operations")
