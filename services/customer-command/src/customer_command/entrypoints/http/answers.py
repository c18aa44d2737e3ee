"""What command routes answer, declared for the OpenAPI document (the runner builds the JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from customerhub_shared.http.openapi import answer_headers, problem_responses

# What any command on an existing customer may be refused with.
CUSTOMER_PROBLEMS = (404, 409, 410, 412, 422)


class NameWarning(BaseModel):
    code: str = Field(description="possible-duplicate: another active customer has this name")
    customer_id: str


class CommandAnswer(BaseModel):
    id: str = Field(description="The customer's id")
    version: int = Field(description="How many events the customer has; its ETag is this")
    position: int | None = Field(
        description="The log position of its last event: pass it as min_position to read it"
    )
    warnings: list[NameWarning] | None = Field(
        default=None, description="Only with CUSTOMERHUB_NAME_UNIQUENESS=warn"
    )


class PossibleDuplicateOut(BaseModel):
    customer_id: str
    score: float = Field(description="In [0, 1]: 1.0 the same name, 0.9 the same email")
    reasons: list[str] = Field(description="same_name, similar_name, same_email, same_phone")


class CustomerCreated(CommandAnswer):
    customer_number: str
    possible_duplicates: list[PossibleDuplicateOut] | None = Field(
        default=None,
        description="Customers in use this one may duplicate, best first (check, then merge)",
    )


class ContactAdded(CommandAnswer):
    contact_id: str


class LocationAdded(CommandAnswer):
    location_id: str


class ActivityRecorded(CommandAnswer):
    activity_id: str


class AttachmentAdded(CommandAnswer):
    attachment_id: str
    content_type: str = Field(description="As checked against the file's bytes")
    size: int = Field(description="Bytes")
    sha256: str = Field(description="The content's SHA-256, hex")


def command_route(
    status_code: int = 200,
    *,
    model: type[CommandAnswer] = CommandAnswer,
    problems: tuple[int, ...] = CUSTOMER_PROBLEMS,
    location: bool = False,
) -> dict[str, Any]:
    """The decorator arguments of a command route: its answer, headers and problems."""
    headers = ("ETag", "Idempotent-Replayed", *(("Location",) if location else ()))
    return {
        "status_code": status_code,
        "response_model": model,
        "responses": {**answer_headers(status_code, *headers), **problem_responses(*problems)},
    }
