"""The event-store contract against a real KurrentDB/EventStoreDB server.

The server is `KURRENTDB_URL` when set (e.g. `kurrentdb://127.0.0.1:2113?tls=false`); else a
throwaway container (`KURRENTDB_IMAGE`, default the latest KurrentDB image) when a Docker engine
answers and `testcontainers` is installed; else the tests skip, saying so.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from customerhub_shared.eventstore import EventStore
from customerhub_shared.eventstore.kurrentdb import KurrentDBEventStore
from tests.integration.eventstore.contract import EventStoreContract

pytestmark = pytest.mark.kurrentdb

SKIP_REASON = "no KurrentDB server: set KURRENTDB_URL or run where Docker is available"
DEFAULT_IMAGE = "docker.kurrent.io/kurrent-latest/kurrentdb:latest"
STARTUP_TIMEOUT = 120.0


def _docker_engine_reachable() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        probe = subprocess.run([docker, "info"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.fixture(scope="session")
def kurrentdb_url() -> Iterator[str]:
    url = os.environ.get("KURRENTDB_URL")
    if url:
        yield url
        return
    if not _docker_engine_reachable():
        pytest.skip(SKIP_REASON)
    try:
        from testcontainers.core.container import DockerContainer
    except ImportError:
        pytest.skip(f"{SKIP_REASON} (Docker answers, but testcontainers is not installed)")
    container = (
        DockerContainer(os.environ.get("KURRENTDB_IMAGE", DEFAULT_IMAGE))
        .with_env("KURRENTDB_INSECURE", "true")
        .with_env("KURRENTDB_MEM_DB", "true")
        # The same settings for eventstore/eventstore images.
        .with_env("EVENTSTORE_INSECURE", "true")
        .with_env("EVENTSTORE_MEM_DB", "true")
        .with_exposed_ports(2113)
    )
    with container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(2113)
        yield f"kurrentdb://{host}:{port}?tls=false"


async def _wait_until_ready(store: KurrentDBEventStore) -> None:
    # A container just started may not serve reads (or be leader) yet; a ready server answers
    # the first time, so this costs one read per test.
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            await store.head_position()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


class TestKurrentDBEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, kurrentdb_url: str) -> AsyncIterator[KurrentDBEventStore]:
        store = await KurrentDBEventStore.open(kurrentdb_url)
        await _wait_until_ready(store)
        yield store
        await store.close()

    @pytest.mark.xfail(
        strict=False,
        reason="KurrentDB keeps event ids unique only as an idempotent-append check within a "
        "stream; the same id in another stream is recorded again, and its API has no lookup "
        "by event id (see KurrentDBEventStore's docstring)",
    )
    async def test_reusing_an_event_id_is_refused(self, store: EventStore) -> None:
        await super().test_reusing_an_event_id_is_refused(store)
