"""Stored answers to requests carrying an Idempotency-Key, so a retry returns the first answer."""

from customerhub_shared.idempotency.port import (
    ClaimTiming,
    IdempotencyStore,
    RequestInProgress,
    StoredAnswer,
)

__all__ = ["ClaimTiming", "IdempotencyStore", "RequestInProgress", "StoredAnswer"]
