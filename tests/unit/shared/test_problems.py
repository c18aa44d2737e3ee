"""Problem handlers: every error a service answers is RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from customerhub_shared.http.middleware import BodySizeLimitMiddleware, CorrelationMiddleware
from customerhub_shared.http.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPES,
    Problem,
    install_problem_handlers,
)

PERSONAL_INPUT = "claire@martin.example"


class NewCustomer(BaseModel):
    name: str
    discount_percent: int


def service_app(max_body_bytes: int = 1024) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(CorrelationMiddleware)

    @app.post("/v1/customers", status_code=201)
    async def create(customer: NewCustomer) -> dict[str, str]:
        return {"name_length": str(len(customer.name))}

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError(f"bug while handling {PERSONAL_INPUT}")

    @app.post("/v1/customers/{customer_id}/archive")
    async def archive(customer_id: str) -> None:
        raise Problem(
            409,
            "Command refused",
            detail="the customer is already archived",
            type=PROBLEM_TYPES + "already-archived",
            extensions={"customer_id": customer_id},
        )

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # Starlette re-raises a bug after answering 500; the client must still see the answer.
    transport = httpx.ASGITransport(app=service_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    return body


async def test_invalid_body_answers_422_problem_without_echoing_the_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/customers", json={"name": "Boulangerie Martin", "discount_percent": PERSONAL_INPUT}
    )
    body = assert_problem(response, 422)
    assert body["type"] == PROBLEM_TYPES + "invalid-request"
    errors = body["errors"]
    assert isinstance(errors, list)
    assert [(error["loc"], error["type"]) for error in errors] == [
        (["body", "discount_percent"], "int_parsing")
    ]
    assert all(set(error) == {"loc", "msg", "type"} for error in errors)
    assert PERSONAL_INPUT not in response.text
    assert "Boulangerie" not in response.text


async def test_missing_field_is_named_in_the_errors(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/customers", json={"discount_percent": 5})
    errors = assert_problem(response, 422)["errors"]
    assert isinstance(errors, list)
    assert [(error["loc"], error["type"]) for error in errors] == [(["body", "name"], "missing")]


async def test_malformed_json_answers_400_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/customers", content=b'{"name": "Claire', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 400)
    assert body["type"] == PROBLEM_TYPES + "malformed-body"
    assert "Claire" not in response.text


async def test_unknown_route_answers_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/nowhere"), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"


async def test_wrong_method_answers_405_problem_with_allow_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/v1/customers")
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


async def test_bug_answers_500_problem_without_detail(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/boom", headers={"X-Correlation-ID": "trace-500"})
    body = assert_problem(response, 500)
    assert body == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "instance": "/v1/boom",
        "correlation_id": "trace-500",
    }
    assert PERSONAL_INPUT not in response.text


async def test_raised_problem_keeps_its_type_detail_and_extensions(
    client: httpx.AsyncClient,
) -> None:
    body = assert_problem(await client.post("/v1/customers/6f1c/archive"), 409)
    assert body["type"] == PROBLEM_TYPES + "already-archived"
    assert body["title"] == "Command refused"
    assert body["detail"] == "the customer is already archived"
    assert body["customer_id"] == "6f1c"


def test_extensions_cannot_override_standard_members() -> None:
    problem = Problem(409, "Refused", extensions={"status": 200, "title": "OK", "code": "x"})
    assert problem.to_dict(instance="/v1/x") == {
        "type": "about:blank",
        "title": "Refused",
        "status": 409,
        "instance": "/v1/x",
        "code": "x",
    }


async def test_declared_oversize_body_answers_413_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/customers", content=b"x" * 2048)
    body = assert_problem(response, 413)
    assert "1024 bytes" in str(body["detail"])


async def test_streamed_oversize_body_answers_413_problem(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 200

    response = await client.post(
        "/v1/customers", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


async def test_body_within_the_limit_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/customers", json={"name": "Martin", "discount_percent": 5})
    assert response.status_code == 201
