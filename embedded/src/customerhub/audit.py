"""`customerhub audit verify`: walk the hash chains of the event log and say where one breaks."""

from __future__ import annotations

import json
import sys
from typing import Any
from uuid import UUID

from customerhub_shared.eventstore import EventStore
from customerhub_shared.eventstore.chain import LogWalk, verify_stream
from customerhub_shared.infrastructure import open_event_store
from customerhub_shared.settings import Settings

_BATCH = 1000


async def verify_history(settings: Settings, customer: UUID | None) -> int:
    """Print the verdict as JSON; exit 0 when every chain holds, 1 when one is broken."""
    events = await open_event_store(settings)
    try:
        if customer is None:
            verdict = await _verify_log(events)
        else:
            stream = f"customer-{customer}"
            verdict = verify_stream(stream, await events.read_stream(stream)).verdict()
    finally:
        await events.close()
    sys.stdout.write(json.dumps(verdict, indent=2) + "\n")
    return 0 if verdict["verified"] else 1


async def _verify_log(events: EventStore) -> dict[str, Any]:
    walk = LogWalk()
    after: int | None = None
    while batch := await events.read_all(after=after, limit=_BATCH):
        for event in batch:
            walk.check(event)
        after = batch[-1].position
    return walk.verdict()
