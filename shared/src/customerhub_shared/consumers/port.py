"""What the runtime runs: a consumer names itself, says how far it got, and processes batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from customerhub_shared.eventstore import RecordedEvent


class Consumer(Protocol):
    """`process` stores its effect with `covered` as its position (the batch's last position
    when None) in one write where its store allows; a batch seen again changes nothing more
    (idempotent by stream revision or event id). An empty batch with `covered` only moves the
    position."""

    @property
    def name(self) -> str: ...

    async def position(self) -> int | None: ...

    async def process(
        self, batch: Sequence[RecordedEvent], *, covered: int | None = None
    ) -> None: ...


@runtime_checkable
class Refreshing(Protocol):
    """A consumer whose target can change under it (a projector after a replay's switch)."""

    async def refresh_generation(self) -> bool: ...
