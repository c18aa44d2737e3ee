"""FerretDB's own files (deploy/ferretdb): a replaced or deleted document leaves the data
directory (the -wal files and the .sqlite files) within two WAL-truncation intervals.

Starts a FerretDB of its own through scripts/ferretdb.sh on a free port with a temporary
CUSTOMERHUB_LOCAL_DIR, never the shared server, and stops it afterwards."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from tests.integration.mongo_server import FERRETDB_SCRIPT

pytestmark = [pytest.mark.mongodb, pytest.mark.slow]

WAL_TRUNCATE_INTERVAL = 1.0  # scripts/ferretdb.sh's WAL_TRUNCATE_INTERVAL, in seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _script(command: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", str(FERRETDB_SCRIPT), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


@pytest.fixture
def own_ferretdb(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A URL of a FerretDB of this test's own, and its data directory."""
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URL"}
    env |= {"CUSTOMERHUB_LOCAL_DIR": str(tmp_path), "CUSTOMERHUB_FERRETDB_PORT": str(_free_port())}
    url = _script("start", env)
    try:
        yield url, tmp_path / "ferretdb" / "data"
    finally:
        _script("stop", env)


def _files_holding(data: Path, needle: bytes) -> list[str]:
    return sorted(p.name for p in data.iterdir() if p.is_file() and needle in p.read_bytes())


def _wait_until_gone(data: Path, needle: bytes, *, intervals: int = 2) -> list[str]:
    deadline = time.monotonic() + intervals * WAL_TRUNCATE_INTERVAL + 0.5
    while (holding := _files_holding(data, needle)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return holding


def test_replaced_and_deleted_documents_leave_ferretdbs_files(
    own_ferretdb: tuple[str, Path],
) -> None:
    url, data = own_ferretdb
    replaced, deleted = (f"canary-{uuid.uuid4().hex}".encode() for _ in range(2))
    client: MongoClient[dict[str, object]] = MongoClient(url)
    try:
        people = client["erasure"]["people"]
        people.insert_many(
            [
                {"_id": "kept", "name": "Kept Person", "note": "k" * 3000},
                {"_id": "replaced", "name": replaced.decode(), "note": "r" * 3000},
                {"_id": "deleted", "name": deleted.decode(), "note": "d" * 3000},
            ]
        )
        assert _files_holding(data, replaced), "the canary should have been written first"
        people.replace_one({"_id": "replaced"}, {"name": None, "note": "anonymised"})
        people.delete_one({"_id": "deleted"})
        assert people.find_one({"_id": "kept"}) is not None

        assert _wait_until_gone(data, replaced) == []
        assert _wait_until_gone(data, deleted) == []
    finally:
        client.close()


def test_a_replaced_document_leaves_the_files_while_a_client_keeps_writing(
    own_ferretdb: tuple[str, Path],
) -> None:
    url, data = own_ferretdb
    canary = f"canary-{uuid.uuid4().hex}".encode()
    client: MongoClient[dict[str, object]] = MongoClient(url)
    stop = threading.Event()

    def keep_writing() -> None:
        for n in itertools.count():
            if stop.is_set():
                return
            others.replace_one({"_id": f"other-{n % 50}"}, {"n": n}, upsert=True)

    try:
        others = client["erasure"]["others"]
        people = client["erasure"]["people"]
        people.insert_one({"_id": "replaced", "name": canary.decode(), "note": "r" * 3000})
        people.replace_one({"_id": "replaced"}, {"name": None})
        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            # A checkpoint lands only between two of the writer's transactions: on a loaded
            # 2-core machine its window can be missed for a tick or two more than when quiet.
            assert _wait_until_gone(data, canary, intervals=6) == []
        finally:
            stop.set()
            writer.join()
    finally:
        client.close()
