"""The access-log port: every unseal call, appended; read back newest first, a page at a time."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One unseal call: who made it, when, whose personal data it asked for, over how many
    events."""

    id: UUID
    at: datetime
    actor: str
    customer_ids: tuple[UUID, ...]
    events: int


@dataclass(frozen=True, slots=True)
class AccessPage:
    records: list[AccessRecord]
    # Pass back as `before` for the next (older) page; None on the last page.
    next_before: int | None


class AccessLog(abc.ABC):
    @abc.abstractmethod
    async def record(self, entry: AccessRecord) -> None:
        """Append durably; an unseal answers only after this returned."""

    @abc.abstractmethod
    async def newest(self, *, before: int | None = None, limit: int = 50) -> AccessPage:
        """Up to `limit` records, newest first, older than the page cursor `before`."""

    @abc.abstractmethod
    async def close(self) -> None: ...
