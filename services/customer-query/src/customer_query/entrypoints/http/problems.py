"""Refused queries, mapped once to RFC 9457 problems; each carries the read-model position."""

from __future__ import annotations

from customer_query.application.errors import (
    CustomerDeleted,
    CustomerNotFound,
    EmptyDuplicateProbe,
    InstantOutOfRange,
    InvalidCursor,
    PositionBeyondLog,
    QueryRefused,
    ReadModelBehind,
)
from customerhub_shared.http.problems import PROBLEM_TYPES, Problem

POSITION_HEADER = "X-Read-Model-Position"
_ANSWERS: tuple[tuple[type[QueryRefused], int, str], ...] = (
    (CustomerNotFound, 404, "Customer not found"),
    (CustomerDeleted, 410, "Customer deleted"),
    (InvalidCursor, 400, "Invalid cursor"),
    (EmptyDuplicateProbe, 422, "Nothing to compare"),
    (PositionBeyondLog, 422, "Position beyond the log"),
    (InstantOutOfRange, 422, "Instant out of range"),
    (ReadModelBehind, 503, "Read model behind"),
)


def position_headers(position: int) -> dict[str, str]:
    return {POSITION_HEADER: str(position)}


def problem_for(error: QueryRefused, position: int | None) -> Problem:
    """The problem for a refusal; `position` None for an answer read from the event store
    alone (no read-model position to report)."""
    status, title = next(
        ((status, title) for kind, status, title in _ANSWERS if isinstance(error, kind)),
        (400, "Query refused"),
    )
    headers = {} if position is None else position_headers(position)
    extensions: dict[str, int] = {}
    if isinstance(error, ReadModelBehind):
        headers["Retry-After"] = "1"
        extensions = {"min_position": error.wanted, "read_model_position": error.reached}
    return Problem(
        status,
        title,
        detail=str(error),
        type=PROBLEM_TYPES + error.code,
        extensions=extensions,
        headers=headers,
    )
