"""What an import needs outside itself: a durable record of its progress, and a directory
of the customers already known (to match rows by customer number and to spot duplicates)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

ImportStatus = Literal["queued", "running", "completed", "failed"]
Outcome = Literal["created", "updated", "unchanged", "duplicates", "failed"]
FINISHED: tuple[ImportStatus, ...] = ("completed", "failed")
OUTCOMES: tuple[Outcome, ...] = ("created", "updated", "unchanged", "duplicates", "failed")


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    create_duplicates: bool = False
    mapping: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowNote:
    """A row that failed (`field`, `message`) or was held back as a likely duplicate
    (`matches`: customer ids and scores)."""

    row: int
    kind: Literal["error", "duplicate"]
    field: str | None = None
    message: str = ""
    matches: tuple[tuple[str, float], ...] = ()


@dataclass
class ImportRecord:
    import_id: UUID
    file_name: str
    file_hash: str
    actor: str
    options: ImportOptions
    created_at: datetime
    status: ImportStatus = "queued"
    total_rows: int | None = None
    # Every row below this spreadsheet row number has its outcome counted.
    next_row: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    finished_at: datetime | None = None
    failure: str | None = None


class ImportStore(abc.ABC):
    """Imports and their progress, kept apart from the event store (like idempotency answers):
    a batch's outcomes and the row to resume from are written in one step."""

    @abc.abstractmethod
    async def add(self, record: ImportRecord, content: bytes) -> None: ...

    @abc.abstractmethod
    async def get(self, import_id: UUID) -> ImportRecord | None: ...

    @abc.abstractmethod
    async def content(self, import_id: UUID) -> bytes: ...

    @abc.abstractmethod
    async def notes(self, import_id: UUID, *, limit: int) -> list[RowNote]: ...

    @abc.abstractmethod
    async def save_progress(self, record: ImportRecord, notes: Sequence[RowNote]) -> None:
        """Store the record's status, counts and next row with the batch's notes, atomically.

        A finished import's file is dropped: it holds personal data that anonymising a
        customer could not reach, and only an unfinished import needs it again."""

    @abc.abstractmethod
    async def unfinished(self) -> list[ImportRecord]:
        """Imports queued or running, oldest first: a restart resumes them."""

    @abc.abstractmethod
    async def close(self) -> None: ...


class CustomerDirectory(Protocol):
    """The customers known to the read model (it may lag the event store a little)."""

    async def numbered(self, customer_number: str) -> UUID | None: ...

    async def likely_duplicates(
        self, *, name: str, email: str | None, phone: str | None
    ) -> list[tuple[str, float]]: ...

    def claims(self) -> NewCustomerClaims:
        """A fresh record of the customers one run of an import creates."""
        ...


@dataclass(frozen=True)
class ClaimedRow:
    """What a new customer of a row is known by: its own name, email and phone are compared;
    its main contact's email and phone are matched too, as the read model's would be."""

    name: str
    email: str | None
    phone: str | None
    contact_email: str | None = None
    contact_phone: str | None = None


class NewCustomerClaims(Protocol):
    """The customers an import run is creating, scored like the read model's before the read
    model shows them: rows alike each other are caught whichever lane runs them. Claiming
    checks and records in one step (no await), so of two alike rows exactly one is created."""

    def claim(
        self, customer_id: UUID, row: ClaimedRow, *, at_least: float
    ) -> list[tuple[str, float]]:
        """Customers claimed before that the row's customer likely duplicates (scored
        `at_least`), best first; with none, the row's customer is claimed."""
        ...

    def known(self, customer_id: UUID, row: ClaimedRow) -> None:
        """A customer a row matched (it exists): later rows alike it are caught as well, so
        that the same file imported again holds back the rows it held back the first time."""
        ...

    def release(self, customer_id: UUID) -> None:
        """The claimed customer was not created after all."""
        ...


def options_json(options: ImportOptions) -> dict[str, Any]:
    return {
        "dry_run": options.dry_run,
        "create_duplicates": options.create_duplicates,
        "mapping": options.mapping,
    }


def options_from(data: dict[str, Any]) -> ImportOptions:
    return ImportOptions(
        dry_run=bool(data.get("dry_run")),
        create_duplicates=bool(data.get("create_duplicates")),
        mapping=dict(data.get("mapping") or {}),
    )
