"""`GET /metrics` counts what the app did and reads each follower's lag from its checkpoint;
`GET /health/ready` answers 503 naming the dependency that does not answer or the follower
that is behind, and 200 again once it answers or catches up."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

import customer_query.bootstrap as customer_query
import equipment.bootstrap as equipment
from customer_command.relay.main import run_relay
from customerhub import write_side
from customerhub.app import create_app
from customerhub.operations import run_ownership_reconciler
from customerhub_shared.cloudevents import Topics, to_message
from customerhub_shared.infrastructure import open_infrastructure
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, USER, new_customer
from tests.e2e.test_relay import relay_everything

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The embedded app on the log transport: no Kafka, hence no relay to wait for."""
    return settings.model_copy(update={"kafka_bootstrap_servers": None})


async def scrape(client: httpx.AsyncClient) -> Samples:
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def per_consumer(samples: Samples, name: str) -> dict[str, float]:
    return {dict(labels)["consumer"]: v for (n, labels), v in samples.items() if n == name}


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    seconds: float = 20.0,
    last_seen: Callable[[], object] = lambda: None,
) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"never held: {last_seen()}"
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://customerhub") as http:
            yield http


async def test_metrics_count_appends_and_time_requests_by_route_template(
    client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    before = await scrape(client)
    customer = await create()
    found = await client.get(
        f"/v1/customers/{customer['id']}?min_position={customer['position']}", headers=USER
    )
    assert found.status_code == 200, found.text
    missing = await client.get(f"/v1/customers/{uuid.uuid4()}", headers=USER)
    assert missing.status_code == 404
    assert (await client.get("/no/such/route")).status_code == 404
    after = await scrape(client)

    store = {"store": settings.event_store}
    appends = "customerhub_event_store_appends_total"
    assert value(after, appends, outcome="ok", **store) > value(
        before, appends, outcome="ok", **store
    )
    appended = "customerhub_event_store_appended_events_total"
    head = "customerhub_event_store_head_position"
    # Every event in the log was appended by this app: the counter follows the head exactly.
    assert value(after, appended, **store) == value(after, head) == customer["position"]
    count = "customerhub_http_request_duration_seconds_count"
    route = "/v1/customers/{customer_id}"
    assert value(after, count, method="POST", route="/v1/customers", status="201") == 1
    assert value(after, count, method="GET", route=route, status="200") == 1
    assert value(after, count, method="GET", route=route, status="404") == 1
    assert value(after, count, method="GET", route="<unmatched>", status="404") == 1
    assert not [labels for _, labels in after if customer["id"] in str(labels)], "an id in labels"


async def test_consumer_lag_falls_to_zero_once_every_follower_caught_up(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    await create("Fromagerie Durand", email="bonjour@durand.example", phone="+33 1 40 00 00 01")
    assert customer["position"] > 0

    async def caught_up() -> bool:
        samples = await scrape(client)
        head = value(samples, "customerhub_event_store_head_position")
        lags = per_consumer(samples, "customerhub_consumer_lag_events")
        positions = per_consumer(samples, "customerhub_consumer_position")
        return all(lag == 0 for lag in lags.values()) and all(p == head for p in positions.values())

    await eventually(caught_up)
    samples = await scrape(client)
    followers = {"customers", "equipment", "notifications", "ownership-reconciler"}
    assert set(per_consumer(samples, "customerhub_consumer_lag_seconds")) == followers
    assert set(per_consumer(samples, "customerhub_consumer_parked_events").values()) == {0}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert set(ready.json()["consumers"]) == followers


async def test_health_routes_and_metrics_stay_out_of_the_openapi_document(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    assert (await client.get("/health")).status_code == 200
    paths = app.openapi()["paths"]
    assert not [path for path in paths if path.startswith(("/health", "/metrics"))]


async def test_ready_names_a_follower_behind_and_recovers_once_it_caught_up(
    settings: Settings,
) -> None:
    # The reconciler runs apart from the write side (`customerhub reconcile`), not yet started.
    apart = settings.model_copy(
        update={"ownership_reconciler": "separate", "ready_max_lag_events": 1}
    )
    async with serving(write_side.create_app(apart)) as client:
        created = await client.post("/v1/customers", json=new_customer(), headers=ADMIN)
        assert created.status_code == 201, created.text
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unready"
        assert ready.json()["consumers"]["ownership-reconciler"]["status"] == "behind"
        assert set(ready.json()["checks"].values()) == {"ok"}
        lag = per_consumer(await scrape(client), "customerhub_consumer_lag_events")
        assert lag["ownership-reconciler"] == created.json()["position"]

        stop = asyncio.Event()
        reconciler = asyncio.create_task(run_ownership_reconciler(apart, stop))
        try:

            async def ready_again() -> bool:
                return (await client.get("/health/ready")).status_code == 200

            await eventually(ready_again)
        finally:
            stop.set()
            await reconciler
        lag = per_consumer(await scrape(client), "customerhub_consumer_lag_events")
        assert lag["ownership-reconciler"] == 0


@pytest.mark.kafka
async def test_a_relay_behind_is_reported_but_keeps_the_app_ready(
    settings: Settings, kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    relayed = settings.model_copy(
        update={
            "kafka_bootstrap_servers": kafka_bootstrap,
            "kafka_customer_topic": kafka_topics.customer,
            "kafka_equipment_topic": kafka_topics.equipment,
            "ready_max_lag_events": 1,
        }
    )
    async with serving(create_app(relayed)) as client:
        created = await client.post("/v1/customers", json=new_customer(), headers=ADMIN)
        assert created.status_code == 201, created.text

        async def only_the_relay_behind() -> bool:
            ready = await client.get("/health/ready")
            behind = {n for n, c in ready.json()["consumers"].items() if c["status"] != "ok"}
            return ready.status_code == 200 and behind == {"relay"}

        await eventually(only_the_relay_behind)
        relay = (await client.get("/health/ready")).json()["consumers"]["relay"]
        assert (relay["lag_events"], relay["gates_readiness"]) == (
            created.json()["position"],
            False,
        )
        lag = per_consumer(await scrape(client), "customerhub_consumer_lag_events")
        assert lag["relay"] == created.json()["position"]


class Proxy:
    """A TCP proxy to a real server that can be cut and restored, as a network outage is."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, upstream_writer]
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.close()


@pytest.mark.mongodb
async def test_ready_answers_503_while_the_read_store_is_unreachable(
    settings: Settings, mongodb_url: str, mongodb_database: str
) -> None:
    server = httpx.URL(mongodb_url)
    proxy = Proxy(server.host, server.port or 27017)
    await proxy.start()
    credentials = f"{server.userinfo.decode()}@" if server.userinfo else ""
    through_proxy = f"mongodb://{credentials}127.0.0.1:{proxy.port}/"
    query = settings.model_copy(
        update={
            "read_store": "mongodb",
            "mongodb_url": through_proxy,
            "mongodb_database": mongodb_database,
            "ready_check_timeout_seconds": 1.0,
        }
    )
    async with serving(customer_query.create_app(query)) as client:
        await eventually(lambda: _answers(client, 200))
        await proxy.cut()
        await eventually(lambda: _answers(client, 503))
        body = (await client.get("/health/ready")).json()
        assert body["checks"]["read_store"] != "ok"
        assert body["checks"]["event_store"] == "ok"
        # The scrape still answers, without a lag it could not read.
        samples = await scrape(client)
        assert per_consumer(samples, "customerhub_consumer_lag_events") == {}
        assert value(samples, "customerhub_event_store_head_position") == 0
        await proxy.start()
        await eventually(lambda: _answers(client, 200))
        assert (await client.get("/health/ready")).json()["checks"]["read_store"] == "ok"
    await proxy.cut()


async def _answers(client: httpx.AsyncClient, status: int) -> bool:
    return (await client.get("/health/ready")).status_code == status


@pytest.mark.kafka
async def test_kafka_consumer_lag_follows_the_relay_and_the_consumer_group(
    settings: Settings, kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    on_kafka = settings.model_copy(
        update={
            "consumer_transport": "kafka",
            "kafka_bootstrap_servers": kafka_bootstrap,
            "kafka_customer_topic": kafka_topics.customer,
            "kafka_equipment_topic": kafka_topics.equipment,
            "kafka_consumer_group_prefix": f"test-{uuid.uuid4().hex[:8]}",
            "relay_checkpoint_name": "e2e",
            "ready_max_lag_events": 1,
        }
    )
    async with serving(equipment.create_app(on_kafka)) as client:
        lags: list[dict[str, float]] = []

        async def consumed() -> bool:
            lags.append(per_consumer(await scrape(client), "customerhub_consumer_lag_events"))
            return lags[-1] == {"equipment": 0}

        # The agent catches up from the store once, as it joins; from then on only Kafka feeds it.
        # Relayed too, the first item is consumed whether the join came before it (a slow POST on
        # a loaded machine) or after.
        first = await client.post("/v1/equipment", json={"name": "Balance"}, headers=USER)
        assert first.status_code == 201, first.text
        await relay_everything(on_kafka, kafka_bootstrap, kafka_topics)
        await eventually(consumed, last_seen=lambda: lags[-3:])
        await asyncio.sleep(0.5)
        for name in ("Four", "Pétrin", "Laminoir"):
            registered = await client.post("/v1/equipment", json={"name": name}, headers=USER)
            assert registered.status_code == 201, registered.text
        lag = per_consumer(await scrape(client), "customerhub_consumer_lag_events")
        assert lag["equipment"] >= 3, "nothing relayed yet, so nothing consumed"
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["kafka"] == "ok"
        assert ready.json()["consumers"]["equipment"]["status"] == "behind"

        await relay_everything(on_kafka, kafka_bootstrap, kafka_topics)
        await eventually(consumed, last_seen=lambda: lags[-3:])
        assert (await client.get("/health/ready")).status_code == 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.kafka
async def test_the_relay_serves_what_it_published_and_kafka_acknowledged(
    client: httpx.AsyncClient,
    create: Callable[..., Any],
    settings: Settings,
    kafka_bootstrap: str,
    kafka_topics: Topics,
) -> None:
    for name in ("Boulangerie Martin", "Fromagerie Durand"):
        await create(name)
    relaying = settings.model_copy(
        update={
            "kafka_bootstrap_servers": kafka_bootstrap,
            "kafka_customer_topic": kafka_topics.customer,
            "kafka_equipment_topic": kafka_topics.equipment,
            "relay_metrics_port": free_port(),
        }
    )
    published = len(await read_customer_events(relaying))
    stop = asyncio.Event()
    relay = asyncio.create_task(run_relay(relaying, stop))
    url = f"http://127.0.0.1:{relaying.relay_metrics_port}/metrics"
    try:
        async with httpx.AsyncClient() as http:

            async def all_acknowledged() -> bool:
                with contextlib.suppress(httpx.TransportError):
                    samples = {
                        s.name: s.value
                        for f in text_string_to_metric_families((await http.get(url)).text)
                        for s in f.samples
                    }
                    return samples.get("customerhub_relay_acknowledged_messages_total") == published
                return False

            await eventually(all_acknowledged)
            answer = (await http.get(url)).text
            assert f"customerhub_relay_published_messages_total {float(published)}" in answer
    finally:
        stop.set()
        await relay


async def read_customer_events(settings: Settings) -> list[object]:
    """What the relay publishes: every event of the log but internal streams'."""
    infra = await open_infrastructure(settings)
    try:
        log = await infra.event_store.read_all(limit=10_000)
        return [event for event in log if to_message(event) is not None]
    finally:
        await infra.close()
