"""The OpenAPI document as a contract: one `Problem` schema for every error answer, the headers
the API reads and sets, readable operation ids, and the roles each operation needs.

Routes declare what is theirs (`response_model`, `answer_headers(201, "ETag", "Location")`,
`problem_responses(404, 409)`); `install_openapi` adds what follows from the route's
dependencies: 401/403/503 where a token is required, 400/413/422 where a body or a checked
header is read, and FastAPI's `HTTPValidationError` replaced by the Problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from customerhub_shared.http.auth import RoleRequirement
from customerhub_shared.http.problems import PROBLEM_MEDIA_TYPE

Responses = dict[int | str, dict[str, Any]]

PROBLEM_SCHEMA = "Problem"
_PROBLEM_REF = {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}
# Request headers whose malformed value answers 400 (parsed in customerhub_shared.http.headers).
_CHECKED_HEADERS = frozenset({"if-match", "idempotency-key", "x-min-position"})


class ValidationErrorItem(BaseModel):
    """Where a request failed validation and why; the input itself is never echoed."""

    loc: list[str | int]
    msg: str
    type: str


class ProblemDetail(BaseModel):
    """RFC 9457 problem details: the body of every error answer (`application/problem+json`).

    Extension members appear only on the problems that use them; new ones may be added."""

    model_config = ConfigDict(title=PROBLEM_SCHEMA, extra="allow")

    type: str = Field(description="A URI naming the kind of problem; about:blank for a bare status")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request path")
    correlation_id: str | None = Field(default=None, description="As in X-Correlation-ID")
    errors: list[ValidationErrorItem] | None = Field(
        default=None, description="400 malformed body and 422 invalid request: what failed"
    )
    current_version: int | None = Field(
        default=None, description="412: the version the resource is at now"
    )
    merged_into: str | None = Field(
        default=None, description="409: the customer that absorbed the one asked for"
    )
    existing_customer_id: str | None = Field(
        default=None, description="409 name-taken: the active customer holding the name"
    )
    min_position: int | None = Field(default=None, description="503: the position asked for")
    read_model_position: int | None = Field(
        default=None, description="503: the position the read model has reached"
    )
    position: int | None = Field(
        default=None, description="503 notifications-behind: the position the service reached"
    )
    equipment_ids: list[str] | None = Field(default=None, description="404: the unknown items")
    owners: dict[str, str] | None = Field(
        default=None, description="409: item → the customer that owns it"
    )
    assigned: list[str] | None = Field(
        default=None, description="409: the items this request gave the customer before"
    )
    returned: list[str] | None = Field(
        default=None, description="409: the items the customer gave back meanwhile"
    )
    customer_status: str | None = Field(
        default=None, description="409 not notifiable: the customer's status"
    )
    templates: list[str] | None = Field(default=None, description="422: the known templates")
    missing: list[str] | None = Field(default=None, description="422: missing parameters")
    unexpected: list[str] | None = Field(default=None, description="422: unexpected parameters")
    contact_ids: list[str] | None = Field(default=None, description="422: the unknown contacts")


HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The version as an entity tag, e.g. "3"; send it back as If-Match',
        "schema": {"type": "string"},
    },
    "Location": {"description": "Where the new resource is read", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "true when this is the stored answer to an earlier request with the "
        "same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "X-Read-Model-Position": {
        "description": "The global log position the read model had reached",
        "schema": {"type": "integer"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer"},
    },
    "WWW-Authenticate": {"description": "The bearer challenge", "schema": {"type": "string"}},
    "Content-Disposition": {
        "description": "attachment, with the file's name (RFC 6266: filename and filename*)",
        "schema": {"type": "string"},
    },
}

_PROBLEM_DESCRIPTIONS = {
    400: "Malformed request: a body that is not JSON, a bad header, cursor or parameter",
    401: "No bearer token, or one that is expired or invalid",
    403: "The token lacks the role this operation needs",
    404: "Not found",
    409: "Refused: the current state does not allow it (e.g. merged, name taken)",
    410: "Deleted",
    412: "If-Match does not match the current version (see current_version)",
    413: "The request body is too large",
    415: "The content's type is not accepted",
    422: "Invalid request: see errors",
    503: "Temporarily unavailable (read model behind, or signing keys unreachable)",
}
_PROBLEM_HEADERS = {401: ("WWW-Authenticate",), 503: ("Retry-After",)}


def problem_responses(*statuses: int, **descriptions: str) -> Responses:
    """`responses=` entries declaring problem+json answers, e.g. `problem_responses(404, 409)`;
    a description per status may be given as `s409="..."`."""
    return {status: problem_response(status, descriptions.get(f"s{status}")) for status in statuses}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description or _PROBLEM_DESCRIPTIONS.get(status, "Problem"),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": dict(_PROBLEM_REF)}},
    }
    headers = _PROBLEM_HEADERS.get(status, ())
    if headers:
        answer["headers"] = {name: HEADERS[name] for name in headers}
    return answer


def answer_headers(status: int, *names: str, description: str | None = None) -> Responses:
    """The headers a success answer sets, e.g. `answer_headers(201, "ETag", "Location")`."""
    answer: dict[str, Any] = {"headers": {name: HEADERS[name] for name in names}}
    if description is not None:
        answer["description"] = description
    return {status: answer}


def operation_id(route: APIRoute) -> str:
    """The route's name (its function's name unless `name=` says otherwise): stable and readable,
    so generated clients get `create_customer`, not `create_customer_v1_customers_post`."""
    return route.name


def install_openapi(app: FastAPI) -> None:
    """Operation ids from route names (routes included after this call), and the document
    completed from each route's dependencies."""
    app.router.generate_unique_id_function = operation_id

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete_document(FastAPI.openapi(app), app)
        return app.openapi_schema or {}

    app.openapi = document  # type: ignore[method-assign]


def complete_document(document: dict[str, Any], app: FastAPI) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    problem = ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas[PROBLEM_SCHEMA] = problem
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                operation = document["paths"][route.path_format][method.lower()]
                _complete_operation(operation, route)


def _complete_operation(operation: dict[str, Any], route: RouteContext) -> None:
    responses = operation.setdefault("responses", {})
    for status in _implied_problems(route):
        responses.setdefault(str(status), problem_response(status))
    for status, answer in list(responses.items()):
        if status.startswith(("4", "5")) and not _declares_problem(answer):
            # FastAPI's own 422 (HTTPValidationError) is not what the API answers.
            described = None if "HTTPValidationError" in str(answer) else answer.get("description")
            responses[status] = problem_response(int(status), described)
    operation["responses"] = dict(sorted(responses.items()))
    roles = _roles(route.dependant)
    if roles:
        needs = "Needs one of the roles: " + ", ".join(roles) + "."
        operation["description"] = "\n\n".join(filter(None, [operation.get("description"), needs]))
        operation["x-roles"] = list(roles)


def _declares_problem(answer: Mapping[str, Any]) -> bool:
    content = answer.get("content", {})
    return set(content) == {PROBLEM_MEDIA_TYPE}


def _implied_problems(route: RouteContext) -> list[int]:
    dependants = list(_dependants(route.dependant))
    statuses: set[int] = set()
    if any(isinstance(d.call, RoleRequirement) for d in dependants):
        statuses |= {401, 403, 503}
    if route.body_field is not None:
        statuses |= {400, 413, 422}
    params = [p for d in dependants for p in (*d.path_params, *d.query_params, *d.header_params)]
    if params:
        statuses.add(422)
    headers = {p.alias.lower() for d in dependants for p in d.header_params}
    if headers & _CHECKED_HEADERS:
        statuses.add(400)
    return sorted(statuses)


def _roles(dependant: Dependant) -> tuple[str, ...]:
    for each in _dependants(dependant):
        if isinstance(each.call, RoleRequirement):
            return each.call.roles
    return ()


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)
