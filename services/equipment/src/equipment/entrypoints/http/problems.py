"""Refusals of every equipment layer, mapped once to RFC 9457 problems."""

from __future__ import annotations

from collections.abc import Mapping

from customerhub_shared.eventstore import ConcurrencyConflict
from customerhub_shared.http.problems import PROBLEM_TYPES, Problem
from equipment.application.context import VersionMismatch
from equipment.application.queries import InvalidCursor, PositionBeyondLog, ReadModelBehind
from equipment.domain.errors import (
    CommandRefused,
    EquipmentNotFound,
    LocationNotTheOwners,
    OwnedByAnotherCustomer,
    ReturnedByCustomer,
)


def problem_for(error: Exception) -> Problem | None:
    """The problem that answers `error`, or None when it is not a refusal but a bug."""
    match error:
        case EquipmentNotFound():
            ids = [str(equipment_id) for equipment_id in error.equipment_ids]
            return _problem(404, "Equipment not found", error, {"equipment_ids": ids})
        case OwnedByAnotherCustomer():
            owners = {str(item): str(owner) for item, owner in error.owners.items()}
            assigned = [str(equipment_id) for equipment_id in error.assigned]
            return _problem(409, "Command refused", error, {"owners": owners, "assigned": assigned})
        case ReturnedByCustomer():
            extensions = {
                "returned": [str(equipment_id) for equipment_id in error.returned],
                "assigned": [str(equipment_id) for equipment_id in error.assigned],
            }
            return _problem(409, "Command refused", error, extensions)
        case CommandRefused():
            return _problem(409, "Command refused", error)
        case LocationNotTheOwners():
            return _problem(422, "Invalid command", error)
        case VersionMismatch():
            return Problem(
                412,
                "Precondition failed",
                detail=str(error),
                type=PROBLEM_TYPES + "version-mismatch",
                extensions={"current_version": error.actual},
            )
        case ConcurrencyConflict():
            return Problem(
                409,
                "Concurrent change",
                detail="the item changed while this command ran; read it again and retry",
                type=PROBLEM_TYPES + "concurrent-change",
            )
        case InvalidCursor():
            return _problem(400, "Invalid cursor", error)
        case PositionBeyondLog():
            return _problem(422, "Position beyond the log", error)
        case ReadModelBehind():
            return _problem(503, "Read model behind", error, headers={"Retry-After": "1"})
    return None


def _problem(
    status: int,
    title: str,
    error: CommandRefused
    | EquipmentNotFound
    | LocationNotTheOwners
    | InvalidCursor
    | PositionBeyondLog
    | ReadModelBehind,
    extensions: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Problem:
    return Problem(
        status,
        title,
        detail=str(error),
        type=PROBLEM_TYPES + error.code,
        extensions=extensions,
        headers=headers,
    )
