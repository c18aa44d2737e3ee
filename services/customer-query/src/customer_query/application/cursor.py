"""Opaque keyset cursors: base64url JSON of (sort order, sort value, document id)."""

from __future__ import annotations

import base64
import binascii
import json

from customer_query.application.errors import InvalidCursor
from customerhub_shared.readstore.port import Scalar

_MAX_CURSOR_LENGTH = 2000


def encode_cursor(sort: str, value: Scalar, document_id: str) -> str:
    raw = json.dumps([sort, value, document_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Scalar, str]:
    """The (sort value, id) to continue after; InvalidCursor if it was not made for `sort`."""
    if len(cursor) > _MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    match decoded:
        case [str(made_for), str() | int() | float() | bool() | None as value, str(document_id)]:
            if made_for == sort:
                return value, document_id
    raise InvalidCursor()
