"""The idempotency port: (scope, key) → the fingerprint of the first request and its answer."""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    fingerprint: str
    status: int
    body: bytes


class IdempotencyStore(abc.ABC):
    @abc.abstractmethod
    async def get(self, scope: str, key: str) -> StoredAnswer | None: ...

    @abc.abstractmethod
    async def put(self, scope: str, key: str, answer: StoredAnswer) -> None:
        """Keep the first answer: a second put for the same (scope, key) changes nothing."""

    @abc.abstractmethod
    async def close(self) -> None: ...
