"""What every customerhub HTTP service shares: problems, middleware, auth, infrastructure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.routing import Route

from customerhub_shared.eventstore.counting import CountingEventStore
from customerhub_shared.http.auth import TokenVerifier
from customerhub_shared.http.health import install_health
from customerhub_shared.http.metrics import AppMetrics, install_metrics
from customerhub_shared.http.middleware import (
    BodySizeLimitMiddleware,
    BodyTimeoutMiddleware,
    CorrelationMiddleware,
)
from customerhub_shared.http.openapi import install_openapi
from customerhub_shared.http.problems import install_problem_handlers
from customerhub_shared.http.server_spans import ServerSpans
from customerhub_shared.infrastructure import Infrastructure, open_infrastructure
from customerhub_shared.logging import configure_logging
from customerhub_shared.settings import Settings
from customerhub_shared.tracing import configure_tracing

# An upload's body is the file plus its multipart framing (boundaries, part headers).
MULTIPART_FRAMING = 64 * 1024
# The API's upload route, and the embedded console's form that passes the file on to it.
ATTACHMENTS_PATH = r"(?:/v1|/console)/customers/[^/]+/attachments/?"


async def docs_redirect() -> RedirectResponse:
    return RedirectResponse("/docs", status_code=307)


def serve_root(app: FastAPI, endpoint: Callable[..., Any]) -> None:
    """What `GET /` answers: the API's docs by default; a console replaces it with its page."""
    app.router.routes[:] = [
        route for route in app.router.routes if not (isinstance(route, Route) and route.path == "/")
    ]
    app.add_api_route("/", endpoint, methods=["GET"], include_in_schema=False)


def prepare_service_app(app: FastAPI, settings: Settings) -> None:
    configure_tracing(app.title, settings.otel_exporter_otlp_endpoint)
    install_problem_handlers(app)
    install_openapi(app)
    install_health(app)
    serve_root(app, docs_redirect)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        path_limits={"/v1/imports": settings.import_max_bytes},
        pattern_limits={ATTACHMENTS_PATH: settings.attachment_max_bytes + MULTIPART_FRAMING},
    )
    app.add_middleware(BodyTimeoutMiddleware, seconds=settings.request_body_timeout_seconds)
    install_metrics(app)
    app.add_middleware(CorrelationMiddleware)
    # Outermost: its span is current while the others and the route run.
    app.add_middleware(ServerSpans)
    _without_native_telemetry(app)


def _without_native_telemetry(app: FastAPI) -> None:
    """ServerSpans makes the request's span: FastAPI's own telemetry would make a second one
    (and spans per dependency) with what the tracer provider installed for this process."""
    config = getattr(app, "_telemetry", None)
    if isinstance(config, dict):
        config.update(tracing=False, metrics=False, logs=False, operation_spans=False)


@asynccontextmanager
async def serve_infrastructure(app: FastAPI, settings: Settings) -> AsyncIterator[Infrastructure]:
    """Open the adapters for the app's lifetime; the app's token verifier comes with them."""
    configure_logging(settings.log_level, settings.log_format)
    infra = await open_infrastructure(settings)
    metrics: AppMetrics = app.state.metrics
    infra.event_store = CountingEventStore(
        infra.event_store,
        appends=metrics.appends,
        appended_events=metrics.appended_events,
        store=settings.event_store,
    )
    app.state.token_verifier = verifier = TokenVerifier.from_settings(settings)
    try:
        yield infra
    finally:
        await verifier.close()
        await infra.close()
