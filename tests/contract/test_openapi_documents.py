"""Every service's OpenAPI document is a contract a client can be generated from: typed
answers, problem+json errors, the headers it relies on, stable operation ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from customerhub_shared.http.problems import PROBLEM_MEDIA_TYPE
from tests.contract.openapi_documents import (
    APPS,
    REFRESH_COMMAND,
    committed_operations,
    document,
    operations,
)

PROBLEM = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
ROLES = {"admin", "user", "subscriber"}


@pytest.fixture(scope="module", params=sorted(APPS))
def service_document(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any]]:
    service: str = request.param
    return service, document(service, tmp_path_factory.mktemp(service))


def _operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    ]


def test_operation_ids_are_the_committed_ones(
    service_document: tuple[str, dict[str, Any]],
) -> None:
    service, doc = service_document
    ids = [operation["operationId"] for _, operation in _operations(doc)]
    assert len(ids) == len(set(ids)), "two routes share a name: give one `name=`"
    assert operations(doc) == committed_operations()[service], (
        f"operation ids changed: a rename breaks generated clients; if intended, {REFRESH_COMMAND}"
    )


def test_every_success_answer_declares_its_schema(
    service_document: tuple[str, dict[str, Any]],
) -> None:
    _, doc = service_document
    for name, operation in _operations(doc):
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, name
        for status, answer in successes.items():
            if status == "204":
                continue
            schemas = [media.get("schema") for media in answer.get("content", {}).values()]
            assert schemas and all(schemas), f"{name} {status} declares no schema"


def test_every_error_answer_is_a_problem(service_document: tuple[str, dict[str, Any]]) -> None:
    _, doc = service_document
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "Problem" in schemas
    assert all("__" not in name for name in schemas), "two models share a name"
    for name, operation in _operations(doc):
        for status, answer in operation["responses"].items():
            if status[0] in "45":
                assert answer["content"] == PROBLEM, f"{name} {status}"


def test_authenticated_operations_name_their_roles_and_answer_401_and_403(
    service_document: tuple[str, dict[str, Any]],
) -> None:
    _, doc = service_document
    assert doc["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"] == "JWT"
    for name, operation in _operations(doc):
        if name.startswith("GET /v1/events/"):
            assert "security" not in operation, f"{name} is public"
        if "security" not in operation:
            assert "401" not in operation["responses"] and "x-roles" not in operation, name
            assert not name.split(" ")[1].startswith("/v1/customers"), f"{name} needs a token"
            continue
        assert operation["security"] == [{"bearerAuth": []}], name
        assert {"401", "403"} <= set(operation["responses"]), name
        assert set(operation["x-roles"]) <= ROLES, name
        assert "roles" in operation["description"], name


def test_commands_declare_their_conditional_and_idempotency_headers(
    service_document: tuple[str, dict[str, Any]],
) -> None:
    _, doc = service_document
    for name, operation in _operations(doc):
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        if "if-match" not in headers:
            continue
        assert "idempotency-key" in headers, name
        for status, answer in operation["responses"].items():
            if status.startswith("2"):
                assert {"ETag", "Idempotent-Replayed"} <= set(answer["headers"]), name
        creates = name.startswith("POST") and "201" in operation["responses"]
        assert creates or "412" in operation["responses"], name


def test_reads_declare_the_read_model_position(tmp_path: Path) -> None:
    doc = document("embedded", tmp_path)
    one = doc["paths"]["/v1/customers/{customer_id}"]["get"]
    assert {"ETag", "X-Read-Model-Position"} <= set(one["responses"]["200"]["headers"])
    assert "304" in one["responses"]
    assert "if-none-match" in {p["name"] for p in one["parameters"]}
    for path in ("/v1/customers", "/v1/equipment", "/v1/customers/{customer_id}/history"):
        answer = doc["paths"][path]["get"]["responses"]
        assert "X-Read-Model-Position" in answer["200"]["headers"], path
        assert "Retry-After" in answer["503"]["headers"], path


def test_create_customer_answers_its_number_and_location(tmp_path: Path) -> None:
    doc = document("embedded", tmp_path)
    created = doc["paths"]["/v1/customers"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("/CustomerCreated")
    assert "Location" in created["headers"]
    model = doc["components"]["schemas"]["CustomerCreated"]
    assert {"id", "version", "position", "customer_number"} <= set(model["required"])


def test_every_command_answers_id_version_and_position(
    service_document: tuple[str, dict[str, Any]],
) -> None:
    _, doc = service_document
    schemas = doc["components"]["schemas"]
    for name, operation in _operations(doc):
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        if "if-match" not in headers:
            continue
        for status, answer in operation["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            ref = answer["content"]["application/json"]["schema"]["$ref"]
            model = schemas[ref.rsplit("/", 1)[-1]]
            assert {"id", "version", "position"} <= set(model["properties"]), f"{name} {status}"
