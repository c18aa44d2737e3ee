"""The OpenAPI conventions a new route follows: what it declares, and what is added for it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from customerhub_shared.http.auth import AdminUser, CurrentUser
from customerhub_shared.http.headers import entity_tag, none_match, parse_if_match
from customerhub_shared.http.openapi import answer_headers, install_openapi, problem_responses
from customerhub_shared.http.problems import PROBLEM_MEDIA_TYPE

PROBLEM = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


class Seal(BaseModel):
    reason: str


class Sealed(BaseModel):
    sealed: bool


def _document() -> dict[str, Any]:
    app = FastAPI()
    install_openapi(app)

    @app.post(
        "/v1/customers/{customer_id}/seal",
        status_code=201,
        response_model=Sealed,
        responses={**answer_headers(201, "ETag"), **problem_responses(404, s404="No such")},
    )
    async def seal_customer(customer_id: int, body: Seal, _admin: AdminUser) -> Sealed:
        return Sealed(sealed=True)

    @app.get("/v1/seals")
    async def list_seals(_user: CurrentUser) -> list[Sealed]:
        return []

    @app.get("/v1/public")
    async def public_contract() -> dict[str, str]:
        return {}

    return app.openapi()


def test_a_route_gets_its_name_as_operation_id_and_its_declared_answers() -> None:
    operation = _document()["paths"]["/v1/customers/{customer_id}/seal"]["post"]
    assert operation["operationId"] == "seal_customer"
    created = operation["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Sealed"
    }
    assert set(created["headers"]) == {"ETag"}
    assert operation["responses"]["404"] == {"description": "No such", "content": PROBLEM}


def test_token_body_and_parameters_imply_their_problems_and_roles() -> None:
    operation = _document()["paths"]["/v1/customers/{customer_id}/seal"]["post"]
    assert set(operation["responses"]) == {"201", "400", "401", "403", "404", "413", "422", "503"}
    for status in ("400", "401", "403", "413", "422", "503"):
        assert operation["responses"][status]["content"] == PROBLEM
    assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert "Retry-After" in operation["responses"]["503"]["headers"]
    assert operation["x-roles"] == ["admin"]
    assert operation["description"].endswith("Needs one of the roles: admin.")
    assert operation["security"] == [{"bearerAuth": []}]


def test_a_read_without_parameters_gets_no_validation_problem() -> None:
    paths = _document()["paths"]
    assert set(paths["/v1/seals"]["get"]["responses"]) == {"200", "401", "403", "503"}
    assert paths["/v1/seals"]["get"]["x-roles"] == ["admin", "user"]
    public = paths["/v1/public"]["get"]
    assert set(public["responses"]) == {"200"}
    assert "security" not in public


def test_the_problem_schema_replaces_fastapis_validation_error() -> None:
    schemas = _document()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    for member in ("errors", "current_version", "merged_into", "detail", "instance"):
        assert member in problem["properties"]
    assert problem["additionalProperties"] is True


def test_etag_round_trips_through_if_match_and_if_none_match() -> None:
    assert entity_tag(3) == '"3"'
    assert parse_if_match(entity_tag(3)) == 3
    assert parse_if_match('W/"3"') == 3
    assert parse_if_match("3") == 3
    assert none_match('"3"', 3)
    assert none_match('W/"3"', 3)
    assert none_match('"1", "3"', 3)
    assert none_match("*", 3)
    assert not none_match('"2"', 3)
    assert not none_match("3", 3)
    assert not none_match(None, 3)
