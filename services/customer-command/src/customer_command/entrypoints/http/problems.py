"""Refusals of every layer, mapped once to RFC 9457 problems."""

from __future__ import annotations

from customer_command.application.context import CustomerNotFound, VersionMismatch
from customer_command.application.names import NameTaken
from customer_command.domain.errors import (
    AttachmentTypeUnsupported,
    CommandRefused,
    CustomerGone,
    CustomerWasMerged,
    DomainError,
    InvalidCommand,
    NotFound,
)
from customerhub_shared.blobs import BlobStoreUnavailable
from customerhub_shared.eventstore import ConcurrencyConflict
from customerhub_shared.http.problems import Problem
from customerhub_shared.mapper import PersonalDataKeyMissing

PROBLEMS = "https://customerhub.example/problems/"


def problem_for(error: Exception) -> Problem | None:
    """The problem that answers `error`, or None when it is not a refusal but a bug."""
    match error:
        case CustomerWasMerged():
            return Problem(
                status=409,
                title="Customer was merged",
                detail=str(error),
                type=PROBLEMS + error.code,
                extensions={"merged_into": str(error.survivor_id)},
            )
        case CustomerGone():
            return Problem(
                status=410, title="Customer deleted", detail=str(error), type=PROBLEMS + error.code
            )
        case AttachmentTypeUnsupported():
            return Problem(
                status=415,
                title="Unsupported attachment type",
                detail=str(error),
                type=PROBLEMS + error.code,
            )
        case NotFound():
            return Problem(
                status=404, title="Not found", detail=str(error), type=PROBLEMS + error.code
            )
        case InvalidCommand():
            return Problem(
                status=422, title="Invalid command", detail=str(error), type=PROBLEMS + error.code
            )
        case CommandRefused():
            return Problem(
                status=409, title="Command refused", detail=str(error), type=PROBLEMS + error.code
            )
        case DomainError():
            return Problem(
                status=409, title="Command refused", detail=str(error), type=PROBLEMS + error.code
            )
        case CustomerNotFound():
            return Problem(
                status=404,
                title="Customer not found",
                detail=str(error),
                type=PROBLEMS + "customer-not-found",
            )
        case VersionMismatch():
            return Problem(
                status=412,
                title="Precondition failed",
                detail=str(error),
                type=PROBLEMS + "version-mismatch",
                extensions={"current_version": error.actual},
            )
        case NameTaken():
            return Problem(
                status=409,
                title="Name already in use",
                detail=str(error),
                type=PROBLEMS + "name-taken",
                extensions={"existing_customer_id": str(error.holder_id)},
            )
        case PersonalDataKeyMissing():
            # Anonymising destroys the key before it appends: a command racing it lands here.
            return Problem(
                status=409,
                title="Customer being forgotten",
                detail="the customer's personal data key was destroyed (anonymised or deleted)",
                type=PROBLEMS + "customer-being-forgotten",
            )
        case BlobStoreUnavailable():
            return Problem(
                status=503,
                title="Attachment store unavailable",
                detail="the store of attachments' bytes did not answer; retry shortly",
                type=PROBLEMS + "blob-store-unavailable",
                headers={"Retry-After": "5"},
            )
        case ConcurrencyConflict():
            return Problem(
                status=409,
                title="Concurrent change",
                detail="the customer changed while this command ran; read it again and retry",
                type=PROBLEMS + "concurrent-change",
            )
    return None
