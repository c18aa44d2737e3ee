"""customer-query's duplicate scoring, offered to customer-command's creates.

Composition roots that hold both services wire it; the services stay apart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

from customer_command.application.duplicates import PossibleDuplicate
from customer_query.application.errors import ReadModelBehind
from customer_query.application.freshness import wait_for_position
from customer_query.application.queries import ReadModel, possible_duplicates
from customer_query.domain.duplicates import DuplicateProbe
from customer_query.entrypoints.http.service import QueryService
from customerhub.shared_answers import SharedAnswers

# How long a create waits for the read model to reach the log's head before it compares:
# enough for the embedded projector, never long enough to hold creates behind a lagging one.
CATCH_UP_SECONDS = 0.3
# Between looks when no write of the projector came first (one in another process).
LOOK_SECONDS = 0.1


@dataclass(frozen=True)
class ReadModelDuplicates:
    """Best effort: a customer created in the last moments may not be compared yet."""

    service: QueryService
    log_head: Callable[[], Awaitable[int | None]]
    # Creates looking at the same write of the in-process projector share their answers.
    shared: SharedAnswers = field(default_factory=SharedAnswers)

    async def similar(
        self, *, name: str, email: str | None, phone: str | None, exclude_id: UUID
    ) -> list[PossibleDuplicate]:
        probe = DuplicateProbe.of(name=name, email=email, phone=phone)
        if probe.is_empty:  # a name of signs only ("×"), no email, no phone: nothing to compare
            return []
        # Behind after the wait: compare with what the read model holds (a warning, not a rule).
        with contextlib.suppress(ReadModelBehind):
            # The projector runs in this process and wakes the wait when it writes: the
            # read model is looked at then, not every few milliseconds in between.
            await wait_for_position(
                self._position,
                await self.log_head(),
                timeout=CATCH_UP_SECONDS,
                progressed=self.service.progressed,
                interval=LOOK_SECONDS,
            )
        written = self.service.projector.written
        read_model = (
            self.shared.at(
                ReadModel(self.service.read_store, self.service.projector.collection), written
            )
            if written is not None
            else await self.service.read_model()
        )
        found = await possible_duplicates(read_model, probe, exclude_id=str(exclude_id), quick=True)
        return [
            PossibleDuplicate(UUID(item["customer_id"]), item["score"], tuple(item["reasons"]))
            for item in found["items"]
        ]

    async def _position(self) -> int | None:
        """How far the read model is: the running projector's last write when it is in this
        process (it wakes the wait when it writes), else its checkpoint, read."""
        written = self.service.projector.written
        return written if written is not None else await self.service.position()
