"""RFC 9457 problem details: the one shape of every error answer, installed on each app."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPES = "https://customerhub.example/problems/"
CORRELATION_HEADER = "X-Correlation-ID"
# This request's own id: the `causationid` of the events it appends.
REQUEST_ID_HEADER = "X-Request-ID"

log = structlog.get_logger(__name__)


class Problem(Exception):
    """An error answer: raise it anywhere below a route and the client gets it as problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        *,
        detail: str | None = None,
        type: str = "about:blank",
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, title, detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.extensions: dict[str, Any] = dict(extensions or {})
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.status} {self.title}" + (f": {self.detail}" if self.detail else "")

    def to_dict(
        self, *, instance: str | None = None, correlation_id: str | None = None
    ) -> dict[str, Any]:
        """The JSON members; extensions never override the standard ones."""
        members: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            members["detail"] = self.detail
        if instance is not None:
            members["instance"] = instance
        if correlation_id is not None:
            members["correlation_id"] = correlation_id
        return {**self.extensions, **members}


def status_problem(
    status: int, detail: str | None = None, headers: Mapping[str, str] | None = None
) -> Problem:
    """A plain HTTP status as a problem (`about:blank`, the status phrase as title)."""
    title = _phrase(status)
    return Problem(status, title, detail=None if detail == title else detail, headers=headers)


def problem_response(
    problem: Problem,
    *,
    instance: str | None = None,
    correlation_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    all_headers = {**problem.headers, **(headers or {})}
    if correlation_id is not None:
        all_headers[CORRELATION_HEADER] = correlation_id
    return JSONResponse(
        problem.to_dict(instance=instance, correlation_id=correlation_id),
        status_code=problem.status,
        headers=all_headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of `app` as problem+json, a bug included (500, no detail)."""
    for known in (Problem, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(known, _answer_known)
    app.add_exception_handler(Exception, _answer_unexpected)


async def _answer_known(request: Request, error: Exception) -> Response:
    return _respond(request, _as_problem(error))


async def _answer_unexpected(request: Request, error: Exception) -> Response:
    log.exception("request.failed", exc_info=error)
    return _respond(request, Problem(500, _phrase(500)))


def _respond(request: Request, problem: Problem) -> JSONResponse:
    correlation_id = getattr(request.state, "correlation_id", None)
    return problem_response(problem, instance=request.url.path, correlation_id=correlation_id)


def _as_problem(error: Exception) -> Problem:
    match error:
        case Problem():
            return error
        case RequestValidationError():
            return _validation_problem(error)
        case StarletteHTTPException():
            detail = error.detail if isinstance(error.detail, str) else None
            return status_problem(error.status_code, detail, error.headers)
    return Problem(500, _phrase(500))


def _validation_problem(error: RequestValidationError) -> Problem:
    # Only where and why: the input itself may be personal data and is never echoed.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in error.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return Problem(
            400,
            "Malformed request body",
            detail="the request body is not valid JSON",
            type=PROBLEM_TYPES + "malformed-body",
            extensions={"errors": errors},
        )
    return Problem(
        422,
        "Invalid request",
        detail="the request does not match the expected schema",
        type=PROBLEM_TYPES + "invalid-request",
        extensions={"errors": errors},
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
