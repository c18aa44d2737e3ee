"""The erasure scan on the local cluster: after a canary customer is anonymised, no file of
PostgreSQL (its database's files and the whole pg_wal), Kafka (the test's topics' segments)
or the cluster's own directory (service logs, data) holds its personal data or its raw key,
nor, within a few seconds, FerretDB's SQLite files of the read model.
Run it under `flock /tmp/customerhub-cluster.lock`."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from customerhub_shared.cloudevents import Topics
from customerhub_shared.keyring.postgres import PostgresKeyRing
from tests.e2e.test_cluster import (  # noqa: F401 - cluster and http: fixtures, used by name
    HEADERS,
    REPO,
    Cluster,
    cluster,
    http,
    read_from,
)
from tests.e2e.test_erasure_scan import Canary, _canary_customer, _command

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.mongodb]

# Where scripts/kafka.sh keeps the broker's log segments (its CUSTOMERHUB_LOCAL_DIR).
KAFKA_DATA = Path(os.environ.get("CUSTOMERHUB_LOCAL_DIR") or REPO / ".local") / "kafka" / "data"
# scripts/ferretdb.sh truncates FerretDB's WALs every second: a few intervals, with room for
# ticks that find a database busy.
FERRETDB_ERASURE_WINDOW = 5.0


def _postgres_files(dsn: str) -> list[Path]:
    """The test database's directory and the server's write-ahead log (readable: root)."""
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("CHECKPOINT")
        row = db.execute(
            "SELECT current_setting('data_directory'), oid FROM pg_database"
            " WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    data = Path(row[0])
    return [*(data / "base" / str(row[1])).iterdir(), *(data / "pg_wal").iterdir()]


def _kafka_segments(bootstrap_dir: Path, topics: Topics) -> list[Path]:
    folders = [p for p in bootstrap_dir.iterdir() if p.name.rsplit("-", 1)[0] in topics.all()]
    assert folders, f"no partition folders of {topics.all()} under {bootstrap_dir}"
    return [segment for folder in folders for segment in folder.iterdir()]


def _scan(paths: list[Path], needles: dict[str, bytes]) -> list[str]:
    hits = []
    for path in paths:
        if path.is_file():
            content = path.read_bytes()
            hits += [f"{path}: {label}" for label, needle in needles.items() if needle in content]
    return hits


async def _raw_key(running: Cluster, customer_id: str) -> bytes:
    kek = running.settings["CUSTOMERHUB_KEYRING_KEK"]
    keyring = await PostgresKeyRing.open(
        running.settings["CUSTOMERHUB_POSTGRES_DSN"],
        key_encryption_key=base64.urlsafe_b64decode(kek + "=" * (-len(kek) % 4)),
    )
    try:
        key = await keyring.key_for(uuid.UUID(customer_id))
    finally:
        await keyring.close()
    assert key is not None
    return key


async def test_an_anonymised_canary_leaves_no_readable_byte_in_the_cluster(
    cluster: Cluster,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
    kafka_topics: Topics,
) -> None:
    canary = Canary()
    customer_id = await _canary_customer(
        http,
        canary,
        command=cluster.command_url,
        equipment=cluster.equipment_url,
        notifications=cluster.notifications_url,
        headers=HEADERS,
    )
    env = {**os.environ, **cluster.settings}
    replayed = subprocess.run(
        [sys.executable, "-m", "customerhub.cli", "replay", "customers"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    needles = canary.needles()
    needles["raw key"] = await _raw_key(cluster, customer_id)

    url = f"{cluster.command_url}/v1/customers/{customer_id}/anonymise"
    answer = await _command(http, "POST", url, headers=HEADERS)
    customer = await read_from(
        http, f"{cluster.query_url}/v1/customers/{customer_id}", answer["position"]
    )
    assert customer["status"] == "anonymised"
    for _ in range(300):
        log = await http.get(
            f"{cluster.notifications_url}/v1/notifications", params={"customer_id": customer_id}
        )
        if log.status_code == 200 and all(e["recipient"] is None for e in log.json()["items"]):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the delivery log was not erased in time")

    dsn = cluster.settings["CUSTOMERHUB_POSTGRES_DSN"]
    files = [
        *_postgres_files(dsn),
        *_kafka_segments(KAFKA_DATA, kafka_topics),
        *(p for p in cluster.directory.rglob("*") if p.is_file()),
    ]
    assert _scan(files, needles) == []
    history = await http.get(f"{cluster.query_url}/v1/customers/{customer_id}/history")
    assert history.json()["items"][-1]["personal_data_erased"] is True

    # FerretDB's own files, last: its WAL-truncation loop (deploy/ferretdb) clears replaced
    # documents from them within about two intervals.
    database = cluster.settings["CUSTOMERHUB_MONGODB_DATABASE"]
    ferret_data = KAFKA_DATA.parent.parent / "ferretdb" / "data"
    assert sorted(ferret_data.glob(f"{database}.*")), "the read model's FerretDB files are missing"
    assert await _ferretdb_leftovers(ferret_data, database, needles) == []


async def _ferretdb_leftovers(data: Path, database: str, needles: dict[str, bytes]) -> list[str]:
    """What FerretDB's files of the database still hold once the window has passed."""
    deadline = asyncio.get_running_loop().time() + FERRETDB_ERASURE_WINDOW
    while (hits := _scan(sorted(data.glob(f"{database}.*")), needles)) and (
        asyncio.get_running_loop().time() < deadline
    ):
        await asyncio.sleep(0.2)
    return hits
