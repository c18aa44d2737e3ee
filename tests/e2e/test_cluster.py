"""The local cluster mode over HTTP: `scripts/cluster.sh start` runs customer-command, the relay,
the Kafka projector, customer-query, equipment and notifications as six OS processes on a real
PostgreSQL, Kafka and MongoDB-wire server; commands go to one port, reads come back from others.

The relay is killed with SIGKILL in the middle of a burst of 5,000 commands and started again.
To make its redelivery certain rather than a matter of timing, its checkpoint is also moved
back a few batches while it is down, as if the kill had landed after Kafka acknowledged those
batches and before the checkpoint was saved. The topic then holds duplicates; every event
must be on it, the consumers' effects must show none twice (documents' versions, one welcome
email per customer), and the read model must equal one rebuilt by replaying the event store.
"""

from __future__ import annotations

import asyncio
import os
import re
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
from tests.conftest import S3Server
from tests.integration.kafka.topics import group_lag, read_topic
from tests.support.processes import free_port

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.mongodb]

REPO = Path(__file__).resolve().parents[2]
SECRET = "cluster-e2e-secret-0123456789abcdef"
CUSTOMERS = 16
BURST_WRITERS = 8
BURST_CUSTOMERS = 500  # each: created, given a main contact, then 8 labels: 5,000 commands
BURST_LABELS = 8
RELAY_BATCH = 20
SERVICES = ("command", "query", "relay", "projector", "equipment", "notifications", "console")
REGIONS = ("FR-IDF", "DE-BY", "FR-ARA")
HEADERS = {"Authorization": f"Bearer {mint_token(SECRET, sub='alice', roles=['admin'])}"}


@dataclass
class Cluster:
    directory: Path
    env: dict[str, str]
    command_url: str = ""
    query_url: str = ""
    equipment_url: str = ""
    notifications_url: str = ""
    console_url: str = ""
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
        self.equipment_url = answer["EQUIPMENT_URL"]
        self.notifications_url = answer["NOTIFICATIONS_URL"]
        self.console_url = answer["CONSOLE_URL"]
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
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fresh_postgres_dsn: str,
    mongodb_url: str,
    kafka_bootstrap: str,
    kafka_topics: Topics,
    s3_server: S3Server,
) -> Iterator[Cluster]:
    """The seven services on the session's servers, with a database, topics and consumer group
    of their own; stopped (and checked gone) afterwards, the servers left running. Indirect
    parametrisation asks for replicas (CUSTOMERHUB_CLUSTER_REPLICAS)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CUSTOMERHUB_")},
        "CUSTOMERHUB_CLUSTER_DIR": str(tmp_path / "cluster"),
        "CUSTOMERHUB_CLUSTER_COMMAND_PORT": str(free_port()),
        "CUSTOMERHUB_CLUSTER_QUERY_PORT": str(free_port()),
        "CUSTOMERHUB_CLUSTER_EQUIPMENT_PORT": str(free_port()),
        "CUSTOMERHUB_CLUSTER_NOTIFICATIONS_PORT": str(free_port()),
        "CUSTOMERHUB_CLUSTER_CONSOLE_PORT": str(free_port()),
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
        "CUSTOMERHUB_CLUSTER_REPLICAS": str(getattr(request, "param", 1)),
        "CUSTOMERHUB_S3_ENDPOINT": s3_server.endpoint,
        "CUSTOMERHUB_S3_ACCESS_KEY_ID": s3_server.access_key_id,
        "CUSTOMERHUB_S3_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        "CUSTOMERHUB_S3_BUCKET": "customerhub-cluster-tests",
    }
    running = Cluster(tmp_path / "cluster", env)
    running.start()
    try:
        yield running
    finally:
        pids = [int(pidfile.read_text()) for pidfile in running.directory.glob("*.pid")]
        assert len(pids) >= len(SERVICES)
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


async def read_from(
    http: httpx.AsyncClient, url: str, position: int, **params: Any
) -> dict[str, Any]:
    """GET `url` once the service's read model reached `position` (it answers 503 before)."""
    deadline = time.monotonic() + 60
    while True:
        answer = await http.get(url, params={"min_position": position, **params})
        if answer.status_code != 503 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body


async def read_back(
    http: httpx.AsyncClient, cluster: Cluster, customer_id: str, position: int
) -> dict[str, Any]:
    return await read_from(http, f"{cluster.query_url}/v1/customers/{customer_id}", position)


async def drained(bootstrap: str, group: str, topics: list[str]) -> None:
    """Wait until consumer group `group` has committed every message of `topics`."""
    deadline = time.monotonic() + 120
    while (lag := await group_lag(bootstrap, group, topics)) > 0:
        assert time.monotonic() < deadline, f"{group} still {lag} messages behind"
        await asyncio.sleep(0.2)


async def log_of(
    http: httpx.AsyncClient, cluster: Cluster, customer_id: str, template: str
) -> list[dict[str, Any]]:
    """The customer's `template` notifications, from the delivery log."""
    answer = await http.get(
        f"{cluster.notifications_url}/v1/notifications", params={"customer_id": customer_id}
    )
    assert answer.status_code == 200, answer.text
    return [item for item in answer.json()["items"] if item["template"] == template]


async def welcomes(http: httpx.AsyncClient, cluster: Cluster, customer_id: str) -> list[str]:
    return [item["recipient"] for item in await log_of(http, cluster, customer_id, "welcome")]


def main_contact(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "email": f"{name}@cluster.example",
        "main": True,
        "notify": {"email": True},
        "equipment_alerts": True,
    }


async def assign_across_processes(
    cluster: Cluster,
    http: httpx.AsyncClient,
    written: Written,
    item_id: str,
    *,
    owner: str,
    other: str,
) -> None:
    """Assigned on the command port (DESIGN's route): the item's owner on the equipment port,
    the customer's list on the query port, the alert email in the notifications' log."""
    route = f"{cluster.command_url}/v1/customers/{{}}/equipment"
    answer = await http.post(route.format(owner), json={"equipment_ids": [item_id]})
    assert answer.status_code == 200, answer.text
    assigned = written.record(answer)
    assert assigned["assigned"] == [item_id] == assigned["equipment_ids"]
    refused = await http.post(route.format(other), json={"equipment_ids": [item_id]})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["owners"] == {item_id: owner}
    position = assigned["position"]
    listed = await read_back(http, cluster, owner, position)
    assert listed["equipment_ids"] == [item_id]
    shown = await read_from(http, f"{cluster.equipment_url}/v1/equipment/{item_id}", position)
    assert shown["owner_id"] == owner
    deadline = time.monotonic() + 60
    while not (alerts := await log_of(http, cluster, owner, "equipment_assigned")):
        assert time.monotonic() < deadline, "no equipment_assigned notification"
        await asyncio.sleep(0.2)
    [alert] = alerts
    assert alert["recipient"] == "contact6@cluster.example"
    assert "Four à sole (Bongard)" in alert["subject"], "the item is named, not its id"


async def test_commands_and_queries_across_processes_survive_a_relay_killed_mid_burst(
    cluster: Cluster, http: httpx.AsyncClient, kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    written = Written()
    command = f"{cluster.command_url}/v1/customers"
    # The console runs beside the services, ready once the query service answers it.
    assert (await http.get(f"{cluster.console_url}/health/ready")).status_code == 200

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
        contact = main_contact(f"contact{n}")
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

    # The equipment service: registered on its port, read back from its Kafka-fed read model.
    item = {"name": "Four à sole", "brand": "Bongard", "serial_number": "SN-4471"}
    registered = await http.post(f"{cluster.equipment_url}/v1/equipment", json=item)
    assert registered.status_code == 201, registered.text
    item_id, item_position = registered.json()["id"], registered.json()["position"]
    stored = await read_from(http, f"{cluster.equipment_url}/v1/equipment/{item_id}", item_position)
    assert (stored["name"], stored["serial_number"], stored["owner_id"]) == (
        "Four à sole",
        "SN-4471",
        None,
    )

    await assign_across_processes(cluster, http, written, item_id, owner=ids[6], other=ids[7])

    # A burst of 5,000 commands from eight writers; the relay dies by SIGKILL a third of the way.
    burst: dict[str, str] = {}  # customer id -> its main contact's email
    done = 0

    async def writer(first_customer: int) -> None:
        nonlocal done
        for n in range(first_customer, BURST_CUSTOMERS, BURST_WRITERS):
            body = {"name": f"Burst Client {n}", "main_location": {"city": "Brest"}}
            customer_id = written.record(await http.post(command, json=body))["id"]
            contact = main_contact(f"burst{n}")
            written.record(await http.post(f"{command}/{customer_id}/contacts", json=contact))
            burst[customer_id] = contact["email"]
            done += 2
            for label in range(BURST_LABELS):
                written.record(await http.put(f"{command}/{customer_id}/labels/burst-{label}"))
                done += 1

    writers = asyncio.gather(*(writer(first) for first in range(BURST_WRITERS)))
    total = BURST_CUSTOMERS * (2 + BURST_LABELS)
    assert total == 5000
    while done < total // 3:
        await asyncio.sleep(0.01)
    os.kill(cluster.pid("relay"), signal.SIGKILL)
    await writers

    # The worst moment for the kill: Kafka had acknowledged batches not yet checkpointed.
    with psycopg.connect(cluster.settings["CUSTOMERHUB_POSTGRES_DSN"], autocommit=True) as db:
        row = db.execute(
            "UPDATE log_checkpoints SET position = position - %s WHERE name = %s"
            " RETURNING position",
            (3 * RELAY_BATCH, "customer-command.relay"),
        ).fetchone()
    assert row is not None and row[0] > 0
    cluster.start()  # starts the relay again; the other services still run

    # Every event reached Kafka, some of them twice.
    prefix = cluster.env["CUSTOMERHUB_KAFKA_CONSUMER_GROUP_PREFIX"]
    topics = [kafka_topics.customer, kafka_topics.equipment]
    await drained(kafka_bootstrap, f"{prefix}.customer-query.customers", topics[:1])
    await drained(kafka_bootstrap, f"{prefix}.notifications.deliveries", topics)
    records = [
        *(await read_topic(kafka_bootstrap, kafka_topics.customer, timeout=60)),
        *(await read_topic(kafka_bootstrap, kafka_topics.equipment, timeout=60)),
    ]
    published = [from_message(record.value).id for record in records]
    assert set(published) == _streamed_events(cluster)
    assert len(published) > len(set(published)), "the restarted relay must have redelivered"

    # Every command's effect is visible once: versions match the commands' answers.
    for customer_id in [*burst, *(i for i in ids if i not in duplicates)]:
        document = await read_back(http, cluster, customer_id, written.position)
        assert document["version"] == written.versions[customer_id], customer_id
    for customer_id in burst:
        document = await read_back(http, cluster, customer_id, written.position)
        assert document["labels"] == sorted(f"burst-{label}" for label in range(BURST_LABELS))
    found = await http.get(
        f"{cluster.query_url}/v1/customers",
        params={"q": "cluster client", "limit": 100, "min_position": written.position},
    )
    assert found.status_code == 200, found.text
    assert len(found.json()["items"]) == CUSTOMERS - len(duplicates)

    # One welcome per customer's main contact, though its events reached the service twice.
    for customer_id, email in burst.items():
        assert await welcomes(http, cluster, customer_id) == [email], customer_id

    # The read model Kafka built equals the one a replay of the event store builds.
    replayed = subprocess.run(
        [sys.executable, "-m", "customerhub.cli", "replay", "customers"],
        env={**cluster.env, **cluster.settings},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stderr[-4000:]
    assert "generation 1 -> 2" in replayed.stdout
    store = await MongoReadStore.open(
        cluster.settings["MONGODB_URL"], cluster.settings["CUSTOMERHUB_MONGODB_DATABASE"]
    )
    try:
        everything = Query(sort="_id", limit=10_000)
        from_kafka = await store.find(collection_name("customers", 1), everything)
        rebuilt = await store.find(collection_name("customers", 2), everything)
    finally:
        await store.close()
    assert len(rebuilt) == CUSTOMERS + BURST_CUSTOMERS
    assert from_kafka == rebuilt
    for service in ("projector", "notifications", "equipment"):
        assert "kafka_agent.handler_failed" not in cluster.log(service), service


def _streamed_events(cluster: Cluster) -> set[uuid.UUID]:
    """The ids of the customer and equipment streams' events in the cluster's event store."""
    with psycopg.connect(cluster.settings["CUSTOMERHUB_POSTGRES_DSN"]) as db:
        rows = db.execute(
            "SELECT event_id FROM events"
            " WHERE stream LIKE 'customer-%' OR stream LIKE 'equipment-%'"
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize("cluster", [2], indirect=True)
async def test_two_replicas_of_each_side_share_the_stores_and_one_reconciler(
    cluster: Cluster, http: httpx.AsyncClient
) -> None:
    commands = cluster.settings["COMMAND_URLS"].split(",")
    queries = cluster.settings["QUERY_URLS"].split(",")
    assert len(commands) == len(queries) == 2 and len(set(commands + queries)) == 4
    assert cluster.settings["CUSTOMERHUB_OWNERSHIP_RECONCILER"] == "separate"

    # One name raced on both command replicas: one wins, one is refused.
    body = {"kind": "company", "name": "Boulangerie Jumelle", "main_location": {"city": "Lyon"}}
    raced = await asyncio.gather(*(http.post(f"{url}/v1/customers", json=body) for url in commands))
    assert sorted(answer.status_code for answer in raced) == [201, 409]
    customer = next(answer.json() for answer in raced if answer.status_code == 201)

    # An assignment through the second replica is recorded by the reconciler process.
    item = await http.post(f"{cluster.equipment_url}/v1/equipment", json={"name": "Four"})
    assert item.status_code == 201, item.text
    assigned = await http.post(
        f"{commands[1]}/v1/customers/{customer['id']}/equipment",
        json={"equipment_ids": [item.json()["id"]]},
    )
    assert assigned.status_code == 200, assigned.text
    for url in queries:
        seen = await read_from(
            http, f"{url}/v1/customers/{customer['id']}", assigned.json()["position"]
        )
        assert seen["id"] == customer["id"]

    status = cluster.script("status")
    assert status.returncode == 0, status.stdout + status.stderr
    for service in ("command-2", "query-2", "reconciler"):
        assert re.search(rf"^{service}: running \(pid \d+", status.stdout, re.M), status.stdout
    for server in ("postgres", "kafka", "ferretdb"):
        assert re.search(rf"^{server}: running on ", status.stdout, re.M), status.stdout
    reconciler_log = cluster.log("reconciler")
    assert '"reconciler.started"' in reconciler_log and '"reconciler.batch"' in reconciler_log
