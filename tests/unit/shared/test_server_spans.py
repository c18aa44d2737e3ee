"""One SERVER span per HTTP request: named by its route's template, continuing the caller's
trace, an error when the answer is a 5xx, none for probes and scrapes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from customerhub_shared.http.server_spans import ServerSpans
from customerhub_shared.tracing import configure_tracing, span

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    configure_tracing("customerhub-tests", None)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


@pytest.fixture
async def client(exporter: InMemorySpanExporter) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})  # ours alone

    @app.get("/v1/customers/{customer_id}")
    async def customer(customer_id: str) -> dict[str, str]:
        with span("inside"):
            return {"id": customer_id}

    @app.get("/v1/broken")
    async def broken() -> None:
        raise HTTPException(503)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(ServerSpans)
    exporter.clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _servers(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]


async def test_the_span_is_named_by_the_route_and_continues_the_callers_trace(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    answer = await client.get("/v1/customers/c-1", headers={"traceparent": traceparent})
    assert answer.status_code == 200
    [server] = _servers(exporter)
    assert server.name == "GET /v1/customers/{customer_id}"
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/v1/customers/{customer_id}"
    assert server.attributes["http.response.status_code"] == 200
    assert server.context is not None and server.context.trace_id == int(TRACE_ID, 16)
    assert server.parent is not None and server.parent.span_id == int(PARENT_ID, 16)
    [inside] = [s for s in exporter.get_finished_spans() if s.name == "inside"]
    assert inside.parent is not None and inside.parent.span_id == server.context.span_id


async def test_a_5xx_answer_is_an_error_and_probes_make_no_span(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    assert (await client.get("/v1/broken")).status_code == 503
    assert (await client.get("/health/live")).status_code == 200
    [server] = _servers(exporter)
    assert server.name == "GET /v1/broken"
    assert server.status.status_code == StatusCode.ERROR
    assert server.parent is None
