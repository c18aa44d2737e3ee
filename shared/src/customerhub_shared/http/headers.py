"""The conditional and idempotency headers: If-Match and If-None-Match (a version as an entity
tag), ETag, Idempotency-Key; and their declarations, whose patterns are the ones parsed here."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header

from customerhub_shared.http.problems import PROBLEM_TYPES, Problem

IF_MATCH_PATTERN = r'^\s*(?:W/)?"?[0-9]{1,18}"?\s*$'
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,200}$"
POSITION_PATTERN = r"^\s*[0-9]{1,19}\s*$"
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_ENTITY_TAG = re.compile(r'^\s*(?:W/)?"([^"]*)"\s*$')

# Route parameters: `if_match: IfMatch = None`. The pattern documents what is accepted (a
# value outside it is a 400 problem from the parser, not FastAPI's validation).
IfMatch = Annotated[
    str | None,
    Header(
        description='The version you read: its ETag "3" (or 3); else 412',
        json_schema_extra={"pattern": IF_MATCH_PATTERN},
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        description="A retry with the same key (same caller, route and body) gets the first answer",
        json_schema_extra={"pattern": IDEMPOTENCY_KEY_PATTERN},
    ),
]


def parse_if_match(value: str | None) -> int | None:
    """`If-Match: 3`, `"3"` or `W/"3"` → 3; absent → None; anything else is a 400 problem."""
    if value is None:
        return None
    match = _IF_MATCH.match(value)
    if match is None:
        raise Problem(
            400,
            "Bad If-Match header",
            type=PROBLEM_TYPES + "bad-if-match",
            detail='If-Match must be the version you read, e.g. If-Match: 3 (or "3")',
        )
    return int(match.group(1))


def parse_idempotency_key(value: str | None) -> str | None:
    if value is not None and not _IDEMPOTENCY_KEY.match(value):
        raise Problem(
            400,
            "Bad Idempotency-Key header",
            type=PROBLEM_TYPES + "bad-idempotency-key",
            detail="Idempotency-Key must be 1-200 characters of letters, digits, . _ : -",
        )
    return value


def entity_tag(version: int) -> str:
    """The ETag of a resource at `version`: `"3"`; If-Match takes it back (or the bare 3)."""
    return f'"{version}"'


def none_match(value: str | None, version: int) -> bool:
    """Whether `If-None-Match: value` holds the current tag (`*` always does): answer 304.
    Compared weakly, as RFC 9110 wants for If-None-Match, so `W/"3"` matches `"3"`."""
    if value is None:
        return False
    if value.strip() == "*":
        return True
    held = (_ENTITY_TAG.match(candidate) for candidate in value.split(","))
    return any(tag is not None and tag.group(1) == str(version) for tag in held)
