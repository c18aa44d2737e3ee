"""What every customerhub HTTP service shares: problems, middleware, auth, infrastructure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from customerhub_shared.http.auth import TokenVerifier
from customerhub_shared.http.middleware import (
    BodySizeLimitMiddleware,
    BodyTimeoutMiddleware,
    CorrelationMiddleware,
)
from customerhub_shared.http.problems import install_problem_handlers
from customerhub_shared.infrastructure import Infrastructure, open_infrastructure
from customerhub_shared.logging import configure_logging
from customerhub_shared.settings import Settings


async def health() -> dict[str, str]:
    return {"status": "ok"}


def prepare_service_app(app: FastAPI, settings: Settings) -> None:
    install_problem_handlers(app)
    app.add_api_route("/health", health, include_in_schema=False)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(BodyTimeoutMiddleware, seconds=settings.request_body_timeout_seconds)
    app.add_middleware(CorrelationMiddleware)


@asynccontextmanager
async def serve_infrastructure(app: FastAPI, settings: Settings) -> AsyncIterator[Infrastructure]:
    """Open the adapters for the app's lifetime; the app's token verifier comes with them."""
    configure_logging(settings.log_level, settings.log_format)
    infra = await open_infrastructure(settings)
    app.state.token_verifier = TokenVerifier.from_settings(settings)
    try:
        yield infra
    finally:
        await infra.close()
