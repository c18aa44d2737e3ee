"""How far each follower of the log is behind its head, read from the followers' checkpoints.

Computed on demand (a scrape, a readiness probe, `customerhub projections`), from what the
followers store, so it holds whichever process or transport runs them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from customerhub_shared.checkpoints import CheckpointStore
from customerhub_shared.eventstore import EventStore
from customerhub_shared.projection import checkpoint_name
from customerhub_shared.readstore import ReadStore

Position = Callable[[], Awaitable[int | None]]
# Where positions are sparse, events behind are counted, up to this many.
COUNT_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Follower:
    """A consumer of the log, by name, and how to read the last position it has covered.

    `gates_readiness`: whether its lag makes the app reporting it unready; False for one the
    app's answers do not wait on (the relay, reported beside the write side it runs apart from).
    """

    name: str
    position: Position
    gates_readiness: bool = True


@dataclass(frozen=True, slots=True)
class FollowerLag:
    name: str
    position: int | None
    head: int | None
    # Events not yet covered: the difference of positions where they are dense (SQLite,
    # PostgreSQL but for gaps), else counted up to COUNT_LIMIT (KurrentDB).
    events: int
    # How long the oldest event not yet covered has been in the log; 0 when caught up.
    seconds: float


async def follower_lag(
    follower: Follower, events: EventStore, *, head: int | None, now: datetime | None = None
) -> FollowerLag:
    position = await follower.position()
    behind = max(0 if head is None else head - (position or 0), 0)
    seconds = 0.0
    if behind > 0:
        limit = 1 if events.dense_positions else COUNT_LIMIT
        pending = await events.read_all(after=position, limit=limit)
        if pending:
            waited = (now or datetime.now(UTC)) - pending[0].recorded_at
            seconds = max(waited.total_seconds(), 0.0)
        behind = behind if events.dense_positions else len(pending)
    return FollowerLag(follower.name, position, head, behind, seconds)


async def follower_lags(followers: Sequence[Follower], events: EventStore) -> list[FollowerLag]:
    head, now = await events.head_position(), datetime.now(UTC)
    return [await follower_lag(f, events, head=head, now=now) for f in followers]


def projection_follower(projection: str, store: ReadStore) -> Follower:
    """A read model: the checkpoint of its active generation (a replay switches it)."""

    async def position() -> int | None:
        active, _ = await store.generations(projection)
        return await store.checkpoint(checkpoint_name(projection, active))

    return Follower(projection, position)


def read_store_follower(name: str, store: ReadStore, checkpoint: str) -> Follower:
    """A consumer whose checkpoint is written with its effects in the read store."""

    async def position() -> int | None:
        return await store.checkpoint(checkpoint)

    return Follower(name, position)


def checkpoint_follower(
    name: str, checkpoints: CheckpointStore, checkpoint: str, *, gates_readiness: bool = True
) -> Follower:
    """A consumer that saves its position in the checkpoint store (reconciler, relay)."""

    async def position() -> int | None:
        return await checkpoints.get(checkpoint)

    return Follower(name, position, gates_readiness)
