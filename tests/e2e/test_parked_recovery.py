"""Poison events parked in a real `customerhub run` process: the rest of the log flows, the
parked events and everything applied survive a SIGKILL, and skipping one lets its customer's
later events through, in order."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from customerhub_shared.eventstore import NewEvent
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from tests.e2e.conftest import SECRET, new_customer, token
from tests.support.processes import embedded_server

ADMIN = token("operator", ("admin",))
FAST = {"CUSTOMERHUB_CONSUMER_MAX_ATTEMPTS": "2"}


def create(base: str, name: str) -> dict[str, object]:
    answer = httpx.post(f"{base}/v1/customers", json=new_customer(name), headers=ADMIN)
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def read(base: str, customer: dict[str, object]) -> httpx.Response:
    headers = {**ADMIN, "X-Min-Position": str(customer["position"])}
    return httpx.get(f"{base}/v1/customers/{customer['id']}", headers=headers, timeout=10)


def parked(base: str) -> dict[str, list[dict[str, object]]]:
    answer = httpx.get(f"{base}/v1/admin/parked", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return {entry["name"]: entry["parked"] for entry in answer.json()["consumers"]}


async def poison(data_dir: Path, customer_id: object) -> None:
    """A customer event the store holds but nobody can read, then a readable copy behind it."""
    store = await SQLiteEventStore.open(data_dir / "events.db")
    try:
        stream = f"customer-{customer_id}"
        [registered] = await store.read_stream(stream)
        broken = NewEvent(uuid.uuid4(), registered.type, b"{not json", registered.metadata)
        copy = NewEvent(uuid.uuid4(), registered.type, registered.data, registered.metadata)
        await store.append(stream, [broken], expected_version=1)
        await store.append(stream, [copy], expected_version=2)
    finally:
        await store.close()


def wait_for(check: object, seconds: float = 30) -> None:
    async def poll() -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while not check():  # type: ignore[operator]
            assert asyncio.get_running_loop().time() < deadline, "never happened"
            await asyncio.sleep(0.1)

    asyncio.run(poll())


def parked_metric(base: str) -> float | None:
    """`customerhub_consumer_parked_events` of the customers projector, as /metrics says."""
    scraped = httpx.get(f"{base}/metrics").text
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            name, consumer = sample.name, sample.labels.get("consumer")
            if name == "customerhub_consumer_parked_events" and consumer == "customers":
                return sample.value
    return None


def test_a_poison_event_is_parked_and_survives_a_kill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with embedded_server(data, SECRET, extra_env=FAST) as (base, process):
        victim = create(base, "Boulangerie Poison")
        asyncio.run(poison(data, victim["id"]))
        wait_for(lambda: len(parked(base).get("customers", [])) == 2)
        before = [create(base, f"Fromagerie {n}") for n in range(3)]
        for customer in before:
            assert read(base, customer).status_code == 200, "the rest of the log flows"
        [head, behind] = parked(base)["customers"]
        assert (head["revision"], behind["revision"]) == (1, 2)
        assert head["attempts"] == 2 and head["error"], "parked after N attempts, with its error"
        assert "behind" in str(behind["error"])
        process.send_signal(signal.SIGKILL)
        process.wait()

    with embedded_server(data, SECRET, extra_env=FAST) as (base, _):
        for customer in before:
            assert read(base, customer).status_code == 200, "nothing applied was lost"
        assert [row["revision"] for row in parked(base)["customers"]] == [1, 2]
        assert parked_metric(base) == 2
        after = create(base, "Crèmerie Après")
        assert read(base, after).status_code == 200

        skipped = httpx.post(f"{base}/v1/admin/parked/{head['id']}/skip", headers=ADMIN)
        assert skipped.status_code == 202, skipped.text
        statuses = [row["status"] for row in skipped.json()["marked"]]
        assert statuses == ["skipped", "retry"]
        wait_for(lambda: "customers" not in parked(base))
        assert parked_metric(base) == 0
        shown = httpx.get(f"{base}/v1/customers/{victim['id']}", headers=ADMIN).json()
        assert shown["version"] == 3, "the copy behind the skipped event was applied"
        missing = httpx.post(f"{base}/v1/admin/parked/999999/retry", headers=ADMIN)
        assert missing.status_code == 404
        user = token("someone", ("user",))
        assert httpx.get(f"{base}/v1/admin/parked", headers=user).status_code == 403
