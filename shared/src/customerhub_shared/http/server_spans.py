"""One OpenTelemetry SERVER span per HTTP request, as pure ASGI middleware.

Named `METHOD /route/{template}` once routing has chosen the route (`METHOD` alone when none
did), continuing the caller's W3C `traceparent` when it sent one. It replaces the FastAPI
instrumentation, which looked the route up again among every route of the app and collected
attributes no exporter here reads, on every request.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from customerhub_shared.tracing import current_span

_PROPAGATOR = TraceContextTextMapPropagator()
_CARRIED = (b"traceparent", b"tracestate")


class ServerSpans:
    """`excluded`: paths holding any of these words get no span (probes, scrapes)."""

    def __init__(self, app: ASGIApp, *, excluded: Iterable[str] = ("health", "metrics")) -> None:
        self.app = app
        self._excluded = tuple(excluded)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or any(word in path for word in self._excluded):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _CARRIED
        }
        with current_span(
            method,
            _PROPAGATOR.extract(carrier) if carrier else None,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:

            async def answering(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, answering)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if isinstance(route, str):
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
