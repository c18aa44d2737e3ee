"""The checkpoint-store port: one log position per name, saved once the work before it is done.

A reader that saves after its side effects (the relay: after Kafka acknowledged a batch) and
resumes from the saved position after a crash repeats at most the work since its last save,
and loses none.
"""

from __future__ import annotations

import abc


class CheckpointStore(abc.ABC):
    @abc.abstractmethod
    async def get(self, name: str) -> int | None:
        """The last saved position under `name`; None if none was ever saved."""

    @abc.abstractmethod
    async def save(self, name: str, position: int) -> None:
        """Durably record `position` under `name` (replacing what was there)."""

    @abc.abstractmethod
    async def close(self) -> None: ...
