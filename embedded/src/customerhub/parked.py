"""`customerhub parked list|retry|skip`: the parked events of every consumer, straight from the
parked store the consumers share (the running consumers apply what is marked)."""

from __future__ import annotations

import sys

from customerhub_shared.consumers import ParkedEvent, open_parked_store
from customerhub_shared.consumers.parked import Status
from customerhub_shared.settings import Settings


async def list_parked(settings: Settings) -> int:
    store = await open_parked_store(settings)
    try:
        rows = await store.parked()
    finally:
        await store.close()
    if not rows:
        sys.stdout.write("no parked events\n")
        return 0
    sys.stdout.write(f"{'id':>6}  {'consumer':<32}{'position':>12}  {'status':<8} error\n")
    for row in rows:
        sys.stdout.write(_line(row))
    return 0


async def mark_parked(settings: Settings, parked_id: int, status: Status) -> int:
    """Exit 1 when there is no such parked event."""
    store = await open_parked_store(settings)
    try:
        marked = await store.mark(parked_id, status)
    finally:
        await store.close()
    if not marked:
        sys.stderr.write(f"customerhub parked: no parked event {parked_id}\n")
        return 1
    for row in marked:
        sys.stdout.write(_line(row))
    return 0


def _line(row: ParkedEvent) -> str:
    return (
        f"{row.id:>6}  {row.consumer:<32}{row.event.position:>12}  {row.status:<8}"
        f" {row.event.type} {row.event.stream}@{row.event.revision}: {row.error[:120]}\n"
    )
