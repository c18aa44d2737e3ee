"""Read models survive real crashes: a projector or a replay killed with SIGKILL mid-stream.

After a restart the read model must equal one built by a full replay: nothing lost, nothing
applied twice (documents are versioned by stream revision, checkpoints move after writes).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import customer_command.bootstrap as customer_command
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import handle
from customer_command.domain.values import NewContact, NewCustomer
from customerhub_shared.infrastructure import open_infrastructure, open_read_store
from customerhub_shared.projection import checkpoint_name, collection_name, stream_pass_name
from customerhub_shared.readstore import Document, Query
from customerhub_shared.settings import Settings

pytestmark = pytest.mark.slow
CUSTOMERS = 150


async def write_history(settings: Settings) -> int:
    """Customers with contacts, edits, labels and merges, straight through the command handlers."""
    infra = await open_infrastructure(settings)
    service = customer_command.build_command_service(infra, settings)
    ctx = CommandContext(actor="seeder", correlation_id="recovery-test")
    ids = [uuid.uuid4() for _ in range(CUSTOMERS)]
    for n, customer_id in enumerate(ids):
        details = NewCustomer.model_validate(
            {"name": f"Client Numéro {n}", "main_location": {"city": "Lyon"}}
        )
        await handle(c.CreateCustomer(customer_id, details), ctx, service.ports)
        contact = NewContact.model_validate({"name": f"Contact {n}", "email": f"c{n}@x.example"})
        await handle(c.AddContact(customer_id, uuid.uuid4(), contact), ctx, service.ports)
        await handle(c.AddLabel(customer_id, f"label-{n % 7}"), ctx, service.ports)
        await handle(c.ArchiveCustomer(customer_id, None), ctx, service.ports)
        await handle(c.ReactivateCustomer(customer_id), ctx, service.ports)
    for survivor, duplicate in zip(ids[0:20:2], ids[1:20:2], strict=True):
        await handle(c.MergeCustomers(survivor, (duplicate,)), ctx, service.ports)
    head = await infra.event_store.head_position()
    await infra.close()
    assert head is not None
    return head


def checkpoint(data_dir: Path, generation: int, *, name: str | None = None) -> int:
    path = data_dir / "read.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            row = db.execute(
                "SELECT position FROM checkpoints WHERE name = ?",
                (name or checkpoint_name("customers", generation),),
            ).fetchone()
        except sqlite3.OperationalError:
            return 0
    return 0 if row is None else int(row[0])


def folded(data_dir: Path, generation: int) -> int:
    """The events a rebuild folding stream after stream has folded (its checkpoint, a log
    position, comes at its end)."""
    return checkpoint(data_dir, generation, name=stream_pass_name("customers", generation))


def start(data_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CUSTOMERHUB_DATA_DIR": str(data_dir),
        "CUSTOMERHUB_LOG_LEVEL": "WARNING",
        "CUSTOMERHUB_PROJECTOR_BATCH_SIZE": "7",
        "CUSTOMERHUB_REPLAY_BATCH_SIZE": "100",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "customerhub.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def kill_once_past(process: subprocess.Popen[bytes], data_dir: Path, position: int) -> int:
    deadline = time.monotonic() + 60
    while checkpoint(data_dir, 1) < position:
        assert process.poll() is None, "the projector exited on its own"
        assert time.monotonic() < deadline, "the projector made no progress"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return checkpoint(data_dir, 1)


def wait_for(data_dir: Path, generation: int, position: int) -> None:
    deadline = time.monotonic() + 120
    while checkpoint(data_dir, generation) < position:
        assert time.monotonic() < deadline, "the read model never caught up"
        time.sleep(0.05)


async def documents(settings: Settings, generation: int) -> list[Document]:
    store = await open_read_store(settings)
    try:
        found = await store.find(
            collection_name("customers", generation), Query(sort="_id", limit=10_000)
        )
    finally:
        await store.close()
    return found


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        jwt_secret="recovery-secret-0123456789abcdef0123456789",
        log_level="WARNING",
    )


def test_projector_killed_mid_stream_resumes_to_the_same_model_as_a_replay(
    settings: Settings,
) -> None:
    head = asyncio.run(write_history(settings))
    projector = start(settings.data_dir, "project")
    at_kill = kill_once_past(projector, settings.data_dir, head // 3)
    assert 0 < at_kill < head, "the kill must land mid-stream"

    restarted = start(settings.data_dir, "project")
    try:
        wait_for(settings.data_dir, 1, head)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)

    replayed = start(settings.data_dir, "replay", "customers")
    assert replayed.wait(timeout=120) == 0
    followed, rebuilt = asyncio.run(documents(settings, 1)), asyncio.run(documents(settings, 2))
    assert len(rebuilt) == CUSTOMERS
    assert followed == rebuilt


def test_replay_killed_mid_way_resumes_its_generation_and_then_switches(
    settings: Settings,
) -> None:
    head = asyncio.run(write_history(settings))
    first = start(settings.data_dir, "replay", "customers")
    deadline = time.monotonic() + 60
    while folded(settings.data_dir, 2) < head // 3:
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert checkpoint(settings.data_dir, 2) == 0, "no log position before the last stream"

    again = start(settings.data_dir, "replay", "customers")
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0
    assert b"generation 1 -> 2 (resumed)" in out
    listing = start(settings.data_dir, "projections")
    table, _ = listing.communicate(timeout=60)
    row = next(line.split() for line in table.decode().splitlines() if line.startswith("customers"))
    assert row == ["customers", "2", "-", str(head), str(head), "0", "0.0s"]
    fresh = start(settings.data_dir, "replay", "customers")
    assert fresh.wait(timeout=120) == 0
    assert asyncio.run(documents(settings, 2)) == asyncio.run(documents(settings, 3))
