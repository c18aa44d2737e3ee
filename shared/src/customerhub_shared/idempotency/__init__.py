"""Stored answers to requests carrying an Idempotency-Key, so a retry returns the first answer."""

from customerhub_shared.idempotency.port import IdempotencyStore, StoredAnswer

__all__ = ["IdempotencyStore", "StoredAnswer"]
