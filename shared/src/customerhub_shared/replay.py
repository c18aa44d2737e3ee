"""Rebuild a projection from the event store into a fresh generation, then switch to it.

The active generation keeps serving (and its projector keeps following the log) while the
new one is built. A replay that crashed resumes the generation it was building from that
generation's checkpoint. After the switch, the generation before the previous one is
dropped; the previous one is kept so an operator can switch back.
"""

from __future__ import annotations

from dataclasses import dataclass

from customerhub_shared.eventstore import EventStore
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import (
    Progress,
    Projection,
    Projector,
    checkpoint_name,
    collection_name,
    collector_paused,
)
from customerhub_shared.readstore import ReadStore

# Events folded per write while rebuilding: each document is written about once per batch,
# and memory stays bounded by the batch, not the history.
BATCH_SIZE = 100_000


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    generation: int
    previous: int
    events: int
    resumed: bool


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    name: str
    active: int
    building: int | None
    checkpoint: int | None
    head: int | None

    @property
    def lag(self) -> int | None:
        """Log positions not yet applied (events, on the SQL stores whose positions are dense)."""
        if self.head is None:
            return 0
        return self.head - (self.checkpoint or 0)


async def replay(
    projection: Projection,
    *,
    events: EventStore,
    store: ReadStore,
    mapper: EventMapper,
    keyring: KeyRing,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ReplayOutcome:
    active, building = await store.generations(projection.name)
    resumed = building is not None
    target = building if building is not None else active + 1
    if not resumed:
        await store.drop(collection_name(projection.name, target))
        await store.set_generations(projection.name, active, target)
    projector = Projector(projection, store, mapper, keyring, generation=target)
    with collector_paused():
        processed = await projector.rebuild(events, batch_size=batch_size, progress=progress)
    # Events appended while the bulk ran: one more short pass brings it next to live.
    processed += await projector.catch_up(events)
    await store.set_generations(projection.name, target, None)
    if active > 1:
        await store.drop(collection_name(projection.name, active - 1))
    return ReplayOutcome(generation=target, previous=active, events=processed, resumed=resumed)


async def status(
    projection: Projection, *, events: EventStore, store: ReadStore
) -> ProjectionStatus:
    active, building = await store.generations(projection.name)
    return ProjectionStatus(
        name=projection.name,
        active=active,
        building=building,
        checkpoint=await store.checkpoint(checkpoint_name(projection.name, active)),
        head=await events.head_position(),
    )
