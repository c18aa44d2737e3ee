"""What the query routes need, built once by the composition root, and how routes get it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from customer_query.application.queries import CustomerStreamReader, ReadModel, SentNotifications
from customer_query.domain.view import CustomerView
from customerhub_shared.projection import Projector
from customerhub_shared.readstore import ReadStore

# Set once a request (its task) looked the active generation up: its read needs no second look.
_GENERATION_LOOKED_UP: ContextVar[bool] = ContextVar("generation_looked_up", default=False)


@dataclass
class QueryService:
    """The read store, the customer streams, and the projector whose checkpoint says how fresh
    the read model is (the projector is run elsewhere; here it only names the generation)."""

    read_store: ReadStore
    streams: CustomerStreamReader
    view: CustomerView
    projector: Projector
    freshness_timeout: float = 2.0
    # The log's last position, to refuse at once a `min_position` no event has reached.
    head: Callable[[], Awaitable[int | None]] | None = None
    # Where the timeline finds sent notifications; None leaves them out of it.
    notifications: SentNotifications | None = None
    # The projections whose replay state the admin route shows (all of them, embedded).
    read_models: tuple[str, ...] = (CustomerView.name,)

    async def position(self) -> int | None:
        """The checkpoint of the generation that serves now (a replay may have switched it)."""
        await self.projector.refresh_generation()
        _GENERATION_LOOKED_UP.set(True)
        # The projector running in this process knows what it wrote without a read.
        written = self.projector.written
        return written if written is not None else await self.projector.position()

    async def progressed(self, within: float) -> None:
        """Once the projector wrote a batch (when it runs in this process), or after `within`."""
        await self.projector.wait_for_progress(within)

    async def read_model(self) -> ReadModel:
        """The generation `position` looked up for this request (its checkpoint is what the
        answer reflects at least), else the one that serves now."""
        if not _GENERATION_LOOKED_UP.get():
            await self.projector.refresh_generation()
        return ReadModel(self.read_store, self.projector.collection)


async def query_service(request: Request) -> QueryService:
    service: QueryService = request.app.state.customer_query
    return service


Service = Annotated[QueryService, Depends(query_service)]
