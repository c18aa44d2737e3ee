"""The local cluster mode over HTTP: `scripts/cluster.sh start` runs customer-command, the relay,
the Kafka projector and customer-query as four OS processes on a real PostgreSQL, Kafka and
MongoDB-wire server; commands go to one port, reads come back from another.

The relay is killed with SIGKILL in the middle of a burst of commands and started again. To
make its redelivery certain rather than a matter of timing, its checkpoint is also moved back
a few batches while it is down, as if the kill had landed after Kafka acknowledged those
batches and before the checkpoint was saved. The topic then holds duplicates; the read model
must not show any, and must equal one rebuilt by replaying the event store.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from customerhub_shared.cloudevents import Topics, from_message
from customerhub_shared.http.auth import mint_token
from customerhub_shared.projection import collection_name
from customerhub_shared.readstore import Document, Query
from customerhub_shared.readstore.mongo import MongoReadStore
from tests.integration.kafka.topics import read_topic
from tests.support.processes import free_port

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.mongodb]

REPO = Path(__file__).resolve().parents[2]
SECRET = "cluster-e2e-secret-0123456789abcdef"
CUSTOMERS = 16
BURST_WRITERS = 4
BURST_LABELS = 12  # labels each customer gets during the burst
RELAY_BATCH = 20
REGIONS = ("FR-IDF", "DE-BY", "FR-ARA")
HEADERS = {"Authorization": f"Bearer {mint_token(SECRET, sub='alice', roles=['admin'])}"}


@dataclass
class Cluster:
    directory: Path
    env: dict[str, str]
    command_url: str = ""
    query_url: str = ""
    settings: dict[str, str] = field(default_factory=dict)

    def script(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(REPO / "scripts" / "cluster.sh"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        done = self.script("start")
        assert done.returncode == 0, f"cluster.sh start failed:\n{done.stderr[-4000:]}"
        answer = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        self.command_url, self.query_url = answer["COMMAND_URL"], answer["QUERY_URL"]
        self.settings = _env_file(Path(answer["ENV_FILE"]))

    def pid(self, service: str) -> int:
        return int((self.directory / f"{service}.pid").read_text())

    def log(self, service: str) -> str:
        return (self.directory / "logs" / f"{service}.log").read_text(errors="replace")[-4000:]


def _env_file(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture
def cluster(
    tmp_path: Path,
    fresh_postgres_dsn: str,
    mongodb_url: str,
    kafka_bootstrap: str,
    kafka_topics: Topics,
) -> Iterator[Cluster]:
    """The four services on the session's servers, with a database, topics and consumer group
    of their own; stopped (and checked gone) afterwards, the servers left running."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CUSTOMERHUB_")},
        "CUSTOMERHUB_CLUSTER_DIR": str(tmp_path / "cluster"),
        "CUSTOMERHUB_CLUSTER_COMMAND_PORT": str(free_port()),
        "CUSTOMERHUB_CLUSTER_QUERY_PORT": str(free_port()),
        "CUSTOMERHUB_PYTHON": sys.executable,
        "CUSTOMERHUB_POSTGRES_DSN": fresh_postgres_dsn,
        "MONGODB_URL": mongodb_url,
        "CUSTOMERHUB_MONGODB_DATABASE": f"cluster_{uuid.uuid4().hex[:12]}",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CUSTOMERHUB_KAFKA_CUSTOMER_TOPIC": kafka_topics.customer,
        "CUSTOMERHUB_KAFKA_EQUIPMENT_TOPIC": kafka_topics.equipment,
        "CUSTOMERHUB_KAFKA_CONSUMER_GROUP_PREFIX": f"test.{uuid.uuid4().hex[:12]}",
        "CUSTOMERHUB_JWT_SECRET": SECRET,
        "CUSTOMERHUB_RELAY_BATCH_SIZE": str(RELAY_BATCH),
        "CUSTOMERHUB_LOG_FORMAT": "json",
    }
    running = Cluster(tmp_path / "cluster", env)
    running.start()
    try:
        yield running
    finally:
        pids = [running.pid(s) for s in ("command", "query", "relay", "projector")]
        stopped = running.script("stop")
        assert stopped.returncode == 0, stopped.stderr
        for pid in pids:
            assert not _alive(pid), f"pid {pid} still runs after cluster.sh stop"
        asyncio.run(_drop_database(mongodb_url, env["CUSTOMERHUB_MONGODB_DATABASE"]))


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def _drop_database(url: str, name: str) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[Document] = AsyncMongoClient(url)
    try:
        await client.drop_database(name)
    finally:
        await client.close()


@pytest.fixture
async def http(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers=HEADERS, timeout=30) as client:
        yield client


@dataclass
class Written:
    """What the commands answered: each customer's last version, and the highest position."""

    versions: dict[str, int] = field(default_factory=dict)
    position: int = 0

    def record(self, answer: httpx.Response) -> dict[str, Any]:
        assert answer.status_code in (200, 201), answer.text
        body: dict[str, Any] = answer.json()
        self.versions[body["id"]] = body["version"]
        self.position = max(self.position, body["position"])
        return body


async def read_back(
    http: httpx.AsyncClient, cluster: Cluster, customer_id: str, position: int
) -> dict[str, Any]:
    """GET one customer from the query service once its read model reached `position`."""
    deadline = time.monotonic() + 30
    while True:
        answer = await http.get(
            f"{cluster.query_url}/v1/customers/{customer_id}", params={"min_position": position}
        )
        if answer.status_code != 503 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body


async def test_commands_and_queries_across_processes_survive_a_relay_killed_mid_burst(
    cluster: Cluster, http: httpx.AsyncClient, kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    written = Written()
    command = f"{cluster.command_url}/v1/customers"

    # Create, edit, label, add a contact, merge — over HTTP on the command port.
    ids: list[str] = []
    for n in range(CUSTOMERS):
        body = {"name": f"Cluster Client {n}", "main_location": {"city": "Lille"}}
        ids.append(written.record(await http.post(command, json=body))["id"])
    for n, customer_id in enumerate(ids):
        edit = {"name": f"Cluster Client {n} SA", "region": REGIONS[n % 3]}
        written.record(await http.patch(f"{command}/{customer_id}", json=edit))
        written.record(await http.put(f"{command}/{customer_id}/labels/transient"))
        written.record(await http.delete(f"{command}/{customer_id}/labels/transient"))
        contact = {"name": f"Contact {n}", "email": f"contact{n}@cluster.example"}
        written.record(await http.post(f"{command}/{customer_id}/contacts", json=contact))
    survivors, duplicates = ids[0:4:2], ids[1:4:2]
    for survivor, duplicate in zip(survivors, duplicates, strict=True):
        merge = {"duplicate_ids": [duplicate]}
        written.record(await http.post(f"{command}/{survivor}/merge", json=merge))

    # Read back over HTTP on the query port, fed through relay -> Kafka -> projector.
    first = await read_back(http, cluster, ids[5], written.position)
    assert (first["name"], first["region"], first["labels"]) == (
        "Cluster Client 5 SA",
        "FR-ARA",
        [],
    )
    assert [contact["email"] for contact in first["contacts"]] == ["contact5@cluster.example"]
    redirect = await read_back(http, cluster, duplicates[0], written.position)
    assert (redirect["id"], redirect["merged_into"]) == (survivors[0], survivors[0])
    assert len(redirect["contacts"]) == 2, "the survivor absorbed the duplicate's contact"

    # A burst of labels from four writers; the relay dies by SIGKILL a third of the way in.
    targets = [customer_id for customer_id in ids if customer_id not in duplicates]
    done = 0

    async def writer(first_label: int) -> None:
        nonlocal done
        for label in range(first_label, BURST_LABELS, BURST_WRITERS):
            for customer_id in targets:
                written.record(await http.put(f"{command}/{customer_id}/labels/burst-{label}"))
                done += 1

    burst = asyncio.gather(*(writer(first) for first in range(BURST_WRITERS)))
    total = BURST_LABELS * len(targets)
    while done < total // 3:
        await asyncio.sleep(0.01)
    os.kill(cluster.pid("relay"), signal.SIGKILL)
    await burst

    # The worst moment for the kill: Kafka had acknowledged batches not yet checkpointed.
    with psycopg.connect(cluster.settings["CUSTOMERHUB_POSTGRES_DSN"], autocommit=True) as db:
        row = db.execute(
            "UPDATE log_checkpoints SET position = position - %s WHERE name = %s"
            " RETURNING position",
            (3 * RELAY_BATCH, "customer-command.relay"),
        ).fetchone()
    assert row is not None and row[0] > 0
    cluster.start()  # starts the relay again; the other services still run

    # Every command's effect is visible, once: versions match the commands' answers.
    for customer_id in targets:
        document = await read_back(http, cluster, customer_id, written.position)
        assert document["version"] == written.versions[customer_id], customer_id
        assert document["labels"] == sorted(f"burst-{label}" for label in range(BURST_LABELS))
    found = await http.get(
        f"{cluster.query_url}/v1/customers",
        params={"q": "cluster client", "limit": 100, "min_position": written.position},
    )
    assert found.status_code == 200, found.text
    assert len(found.json()["items"]) == CUSTOMERS - len(duplicates)

    records = await read_topic(kafka_bootstrap, kafka_topics.customer, timeout=60)
    event_ids = [from_message(record.value).id for record in records]
    assert len(event_ids) > len(set(event_ids)), "the restarted relay must have redelivered"

    # The read model Kafka built equals the one a replay of the event store builds.
    replayed = subprocess.run(
        [sys.executable, "-m", "customerhub.cli", "replay", "customers"],
        env={**cluster.env, **cluster.settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stderr[-4000:]
    assert "generation 1 -> 2" in replayed.stdout
    store = await MongoReadStore.open(
        cluster.settings["MONGODB_URL"], cluster.settings["CUSTOMERHUB_MONGODB_DATABASE"]
    )
    try:
        everything = Query(sort="_id", limit=1000)
        from_kafka = await store.find(collection_name("customers", 1), everything)
        rebuilt = await store.find(collection_name("customers", 2), everything)
    finally:
        await store.close()
    assert len(rebuilt) == CUSTOMERS
    assert from_kafka == rebuilt
    assert "kafka_agent.handler_failed" not in cluster.log("projector")
