"""The idempotency port: (scope, key) → the fingerprint of the first request and its answer.

Several replicas share one store, so a key is claimed in the store before its request runs:
a concurrent request with the same key, on any replica, waits for the stored answer instead
of running the command a second time.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    fingerprint: str
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class ClaimTiming:
    # How long a request waits for a concurrent one with its key to store an answer.
    wait_seconds: float = 10.0
    # A claim this old without an answer is abandoned (its process died) and may be taken over.
    lease_seconds: float = 60.0
    poll_seconds: float = 0.05


class RequestInProgress(Exception):
    """A request with the same key is still being answered (elsewhere, or for too long)."""


class IdempotencyStore(abc.ABC):
    timing: ClaimTiming = ClaimTiming()

    @abc.abstractmethod
    async def get(self, scope: str, key: str) -> StoredAnswer | None:
        """The stored answer; None while there is none, or only a claim."""

    @abc.abstractmethod
    async def put(self, scope: str, key: str, answer: StoredAnswer) -> StoredAnswer:
        """Keep the first answer and return the one kept: a second put changes nothing."""

    @abc.abstractmethod
    async def claim(self, scope: str, key: str, fingerprint: str) -> str | None:
        """A token if the caller may answer (scope, key): no answer is stored and no live claim
        holds it (one older than the lease is taken over); None otherwise."""

    @abc.abstractmethod
    async def release(self, scope: str, key: str, token: str) -> None:
        """Drop the caller's claim without an answer (its request failed; a retry may run)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def first_answer(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        answer: Callable[[], Awaitable[StoredAnswer]],
    ) -> tuple[StoredAnswer, bool]:
        """The first answer to (scope, key), and whether an earlier request gave it (a replay).

        `answer` runs only under this store's claim on the key; RequestInProgress when another
        request holds the claim for longer than the wait.
        """
        deadline = time.monotonic() + self.timing.wait_seconds
        while True:
            stored = await self.get(scope, key)
            if stored is not None:
                return stored, True
            token = await self.claim(scope, key, fingerprint)
            if token is not None:
                return await self._answer_claimed(scope, key, token, answer)
            if time.monotonic() >= deadline:
                raise RequestInProgress(key)
            await asyncio.sleep(self.timing.poll_seconds)

    async def _answer_claimed(
        self, scope: str, key: str, token: str, answer: Callable[[], Awaitable[StoredAnswer]]
    ) -> tuple[StoredAnswer, bool]:
        try:
            mine = await answer()
        except BaseException:
            await asyncio.shield(self.release(scope, key, token))
            raise
        kept = await self.put(scope, key, mine)
        return kept, kept != mine
