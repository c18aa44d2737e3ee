"""A route that answers its common request without FastAPI's dependency solving.

The route stays declared as usual (its OpenAPI operation, its dependencies): a request the
quick handler does not take (it answers None) goes that declared way, which answers every
problem. The quick handler calls the same functions the dependencies would, so what it
refuses on its own (a bad header) is refused with the same problem.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from customer_command.entrypoints.http.runner import RequestContext
from customerhub_shared.http.auth import ADMIN, Principal, RoleRequirement, current_principal
from customerhub_shared.http.headers import parse_idempotency_key, parse_if_match

M = TypeVar("M", bound=BaseModel)
QuickHandler = Callable[[Request], Awaitable[Response | None]]
_ADMIN_ONLY = RoleRequirement(ADMIN)


def quick_route(handler: QuickHandler) -> type[APIRoute]:
    """An APIRoute class whose requests `handler` answers first."""

    class QuickRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            declared = super().get_route_handler()

            async def answer(request: Request) -> Response:
                quick = await handler(request)
                return quick if quick is not None else await declared(request)

            return answer

    return QuickRoute


async def admin_call(request: Request) -> RequestContext:
    """What `AdminCall` gives a route, by the same checks in the same order."""
    principal: Principal = await _ADMIN_ONLY(await current_principal(request), None)
    headers = request.headers
    return RequestContext(
        request=request,
        service=request.app.state.customer_command,
        principal=principal,
        idempotency_key=parse_idempotency_key(headers.get("idempotency-key")),
        expected_version=parse_if_match(headers.get("if-match")),
    )


async def json_body(request: Request, model: type[M]) -> M | None:
    """The body as `model`, parsed straight from its bytes; None unless it is JSON that
    validates (the declared route then answers the problem)."""
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        return None
    try:
        return model.model_validate_json(await request.body())
    except ValidationError:
        return None
