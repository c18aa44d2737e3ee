"""Correlation middleware: one id per request, echoed, bound for logs; one log line per request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import structlog
from fastapi import FastAPI, Request
from structlog.testing import capture_logs

from customerhub_shared.http.middleware import CorrelationMiddleware
from customerhub_shared.http.problems import install_problem_handlers


def service_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(CorrelationMiddleware)

    @app.get("/v1/customers/{customer_id}")
    async def read(customer_id: str, request: Request) -> dict[str, object]:
        return {
            "state": request.state.correlation_id,
            "bound": structlog.contextvars.get_contextvars().get("correlation_id"),
        }

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=service_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_a_correlation_id_is_generated_when_none_comes(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/customers/6f1c")
    correlation_id = response.headers["x-correlation-id"]
    assert uuid.UUID(correlation_id).version == 4
    assert response.json() == {"state": correlation_id, "bound": correlation_id}


async def test_a_sane_incoming_correlation_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/customers/6f1c", headers={"X-Correlation-ID": "gw-42.a_b"})
    assert response.headers["x-correlation-id"] == "gw-42.a_b"
    assert response.json()["state"] == "gw-42.a_b"


@pytest.mark.parametrize("unsafe", ["has space", "a" * 129, 'x"}{injected', "é"])
async def test_an_unsafe_incoming_correlation_id_is_replaced(
    client: httpx.AsyncClient, unsafe: str
) -> None:
    response = await client.get(
        "/v1/customers/6f1c", headers={b"X-Correlation-ID": unsafe.encode("utf-8")}
    )
    assert uuid.UUID(response.headers["x-correlation-id"]).version == 4


async def test_context_of_a_previous_request_does_not_leak(client: httpx.AsyncClient) -> None:
    structlog.contextvars.bind_contextvars(actor="someone-else")
    await client.get("/v1/customers/6f1c")
    assert "actor" not in structlog.contextvars.get_contextvars()


async def test_each_request_logs_its_route_template_status_and_duration(
    client: httpx.AsyncClient,
) -> None:
    with capture_logs() as lines:
        await client.get("/v1/customers/6f1c?q=claire@martin.example")
    [line] = [line for line in lines if line["event"] == "request.completed"]
    assert line["method"] == "GET"
    assert line["route"] == "/v1/customers/{customer_id}"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert "claire" not in repr(line)


async def test_unmatched_requests_are_logged_without_their_path(
    client: httpx.AsyncClient,
) -> None:
    with capture_logs() as lines:
        response = await client.get("/claire@martin.example")
    assert response.status_code == 404
    [line] = [line for line in lines if line["event"] == "request.completed"]
    assert line["route"] is None
    assert line["status"] == 404
