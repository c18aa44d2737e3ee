"""The request headers every command route reads: If-Match (a version) and Idempotency-Key."""

from __future__ import annotations

import re

from customerhub_shared.http.problems import PROBLEM_TYPES, Problem

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')
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
