"""The conditional and idempotency headers: If-Match and If-None-Match (a version as an entity
tag), ETag, Idempotency-Key."""

from __future__ import annotations

import re

from customerhub_shared.http.problems import PROBLEM_TYPES, Problem

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')
_ENTITY_TAG = re.compile(r'^\s*(?:W/)?"([^"]*)"\s*$')
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


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
