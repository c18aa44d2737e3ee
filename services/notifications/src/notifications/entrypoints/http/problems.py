"""Refused notification requests, mapped once to RFC 9457 problems."""

from __future__ import annotations

from typing import Any

from customerhub_shared.http.problems import PROBLEM_TYPES, Problem
from notifications.domain import errors

_ANSWERS: tuple[tuple[type[errors.NotificationRefused], int, str], ...] = (
    (errors.CustomerNotFound, 404, "Customer not found"),
    (errors.CustomerMerged, 409, "Customer merged"),
    (errors.CustomerNotNotifiable, 409, "Customer not notifiable"),
    (errors.UnknownTemplate, 422, "Unknown template"),
    (errors.MissingParameters, 422, "Missing template parameters"),
    (errors.UnexpectedParameters, 422, "Unexpected template parameters"),
    (errors.UnknownContacts, 422, "Unknown contacts"),
)


def problem_for(error: errors.NotificationRefused) -> Problem:
    status, title = next(
        ((status, title) for kind, status, title in _ANSWERS if isinstance(error, kind)),
        (422, "Notification refused"),
    )
    return Problem(
        status,
        title,
        detail=str(error),
        type=PROBLEM_TYPES + error.code,
        extensions=_extensions(error),
    )


def _extensions(error: errors.NotificationRefused) -> dict[str, Any]:
    match error:
        case errors.CustomerMerged():
            return {"merged_into": str(error.merged_into)}
        case errors.CustomerNotNotifiable():
            return {"customer_status": error.status}
        case errors.UnknownTemplate():
            return {"templates": list(error.known)}
        case errors.MissingParameters():
            return {"missing": list(error.names)}
        case errors.UnexpectedParameters():
            return {"unexpected": list(error.names)}
        case errors.UnknownContacts():
            return {"contact_ids": [str(contact_id) for contact_id in error.contact_ids]}
    return {}


def behind(wanted: int, reached: int) -> Problem:
    return Problem(
        503,
        "Notifications behind",
        detail=f"the notification service has reached position {reached}, not yet {wanted}",
        type=PROBLEM_TYPES + "notifications-behind",
        extensions={"min_position": wanted, "position": reached},
        headers={"Retry-After": "1"},
    )
