"""A process appending alone, back to back (each append committed in its own thread, not
handed to the writer thread), killed with SIGKILL: every append it had been answered for is in
the file, and the stream's hash chain still verifies."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.eventstore.chain import verify_stream
from customerhub_shared.eventstore.sqlite import SQLiteEventStore

STREAM = "customer-lone-writer"

WRITER = textwrap.dedent(
    """
    import asyncio, sys, uuid
    from customerhub_shared.eventstore import NewEvent
    from customerhub_shared.eventstore.sqlite import SQLiteEventStore

    async def main() -> None:
        store = await SQLiteEventStore.open(sys.argv[1])
        version = 0
        while True:
            event = NewEvent(uuid.uuid4(), "customerhub.test.happened.v1", b"{}", b"{}")
            version = (await store.append(sys.argv[2], [event], expected_version=version)).version
            print(version, store._appends.commits_here, flush=True)

    asyncio.run(main())
    """
)


def test_every_answered_lone_append_survives_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), STREAM], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    try:
        for _ in range(300):
            answered, committed_here = (int(n) for n in writer.stdout.readline().split())
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert committed_here == answered - 1  # only the first went to the writer thread

    events = asyncio.run(_read(path))
    assert len(events) >= answered
    assert [event.revision for event in events] == list(range(len(events)))
    assert verify_stream(STREAM, events).verified


async def _read(path: Path) -> list[RecordedEvent]:
    store = await SQLiteEventStore.open(path)
    try:
        return await store.read_stream(STREAM)
    finally:
        await store.close()
