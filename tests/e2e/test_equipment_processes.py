"""Equipment ownership against the real service process: twenty requests racing for one item,
and a bulk assignment killed (SIGKILL) half-way, then the service restarted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from customerhub_shared.events.customer import EquipmentAssigned
from customerhub_shared.events.equipment import EquipmentOwnerChanged
from equipment.application.reconciler import CHECKPOINT
from tests.e2e.conftest import ADMIN, SECRET, USER, new_customer
from tests.support.processes import embedded_server

pytestmark = pytest.mark.slow
RACERS = 20
BULK = 200
# Generous: a loaded test machine must not turn an answer into a 202.
PATIENT = {"CUSTOMERHUB_FRESHNESS_TIMEOUT_SECONDS": "15"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "postgres":
        dsn = request.getfixturevalue("fresh_postgres_dsn")
        return {"CUSTOMERHUB_EVENT_STORE": "postgres", "CUSTOMERHUB_POSTGRES_DSN": dsn}
    return {}


# -- twenty concurrent requests for one item ------------------------------------------------------


async def race_for_one_item(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        customers = []
        for n in range(RACERS):
            created = await http.post(
                "/v1/customers", json=new_customer(f"Racer {n}"), headers=ADMIN
            )
            assert created.status_code == 201, created.text
            customers.append(created.json()["id"])
        for transfer in (False, True):
            registered = await http.post("/v1/equipment", json={"name": "Nacelle"}, headers=USER)
            equipment_id = registered.json()["id"]
            answers = await asyncio.gather(
                *(
                    http.post(
                        f"/v1/customers/{customer_id}/equipment",
                        json={"equipment_ids": [equipment_id], "transfer": transfer},
                        headers=USER,
                    )
                    for customer_id in customers
                )
            )
            await check_one_owner(http, equipment_id, customers, answers, transfer=transfer)


async def check_one_owner(
    http: httpx.AsyncClient,
    equipment_id: str,
    customers: list[str],
    answers: list[httpx.Response],
    *,
    transfer: bool,
) -> None:
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == ([200] * RACERS if transfer else [200] + [409] * (RACERS - 1)), statuses
    position = max(answer.json()["position"] for answer in answers if answer.status_code == 200)
    fresh = {"min_position": position}
    item = (await http.get(f"/v1/equipment/{equipment_id}", params=fresh, headers=USER)).json()
    listing = []
    for customer_id in customers:
        read = await http.get(f"/v1/customers/{customer_id}", params=fresh, headers=USER)
        if equipment_id in read.json()["equipment_ids"]:
            listing.append(customer_id)
    assert listing == [item["owner_id"]]
    periods = item["ownership"]
    assert periods[-1]["customer_id"] == item["owner_id"] and periods[-1]["until"] is None
    for before, after in zip(periods, periods[1:], strict=False):
        assert before["until"] == after["since"] and before["ended"] == after["began"]
    assert periods[0]["began"] == "assigned"
    if transfer:
        # Every request took the item from whoever had it: twenty owners, one after the other.
        assert sorted(p["customer_id"] for p in periods) == sorted(customers)
        assert {p["began"] for p in periods[1:]} == {"transferred"}
    else:
        winner = next(a for a in answers if a.status_code == 200).json()["id"]
        assert [p["customer_id"] for p in periods] == [winner]


def test_twenty_concurrent_assignments_of_one_item_leave_exactly_one_owner(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    with embedded_server(tmp_path, SECRET, extra_env={**store_env, **PATIENT}) as (base, _):
        asyncio.run(race_for_one_item(base))


# -- a bulk assignment killed half-way ------------------------------------------------------------


def query(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            return []  # not created yet


def owner_changes(data_dir: Path) -> int:
    sql = "SELECT COUNT(*) FROM events WHERE type = ?"
    return int(query(data_dir / "events.db", sql, EquipmentOwnerChanged.type_name)[0][0])


def equipment_recorded(data_dir: Path) -> int:
    """How many EquipmentAssigned the customers' streams hold."""
    sql = "SELECT COUNT(*) FROM events WHERE type = ?"
    return int(query(data_dir / "events.db", sql, EquipmentAssigned.type_name)[0][0])


def wait_until_settled(data_dir: Path) -> int:
    """The log head once the reconciler and both projectors have processed all of it."""
    checkpoints = [
        (
            data_dir / "checkpoints.db",
            "SELECT position FROM log_checkpoints WHERE name = ?",
            CHECKPOINT,
        ),
        (data_dir / "read.db", "SELECT position FROM checkpoints WHERE name = ?", "customers@g1"),
        (data_dir / "read.db", "SELECT position FROM checkpoints WHERE name = ?", "equipment@g1"),
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        head = query(data_dir / "events.db", "SELECT MAX(position) FROM events")[0][0]
        reached = [(query(path, sql, name) or [(0,)])[0][0] for path, sql, name in checkpoints]
        if (
            min(reached) >= head
            and query(data_dir / "events.db", "SELECT MAX(position) FROM events")[0][0] == head
        ):
            return int(head)
        time.sleep(0.05)
    raise AssertionError("the reconciler and projectors never caught up after the restart")


@pytest.fixture
def a_bulk_assignment_killed_half_way(
    tmp_path: Path,
) -> Iterator[tuple[str, list[str], int, int]]:
    env = {"CUSTOMERHUB_PROJECTOR_BATCH_SIZE": "7"}  # many small reconciler batches to cut into
    with embedded_server(tmp_path, SECRET, extra_env=env) as (base, process):
        with httpx.Client(base_url=base, timeout=60) as http:
            customer_id = http.post("/v1/customers", json=new_customer(), headers=ADMIN).json()[
                "id"
            ]
            ids = [
                http.post("/v1/equipment", json={"name": f"Item {n}"}, headers=USER).json()["id"]
                for n in range(BULK)
            ]
        body = {"equipment_ids": ids}
        url = f"{base}/v1/customers/{customer_id}/equipment"
        request = threading.Thread(target=_post_quietly, args=(url, body))
        request.start()
        deadline = time.monotonic() + 60
        # Kill once the reconciler has begun recording on the customer: some items are then
        # recorded on both sides, others on the item only, a batch perhaps without checkpoint.
        while equipment_recorded(tmp_path) == 0:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.001)
        process.send_signal(signal.SIGKILL)
        process.wait()
        request.join()
    yield customer_id, ids, owner_changes(tmp_path), equipment_recorded(tmp_path)


def _post_quietly(url: str, body: dict[str, Any]) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server dies under it: that is the point
        httpx.post(url, json=body, headers=USER, timeout=60)


def test_a_bulk_assignment_killed_half_way_leaves_no_item_half_assigned(
    tmp_path: Path, a_bulk_assignment_killed_half_way: tuple[str, list[str], int, int]
) -> None:
    customer_id, ids, at_kill, recorded = a_bulk_assignment_killed_half_way
    # Killed half-way: items the customer had recorded, and items it had not.
    assert 0 < recorded < at_kill <= BULK, (recorded, at_kill)
    with embedded_server(tmp_path, SECRET) as (base, _), httpx.Client(base_url=base) as http:
        fresh = {"min_position": wait_until_settled(tmp_path)}
        customer = http.get(f"/v1/customers/{customer_id}", params=fresh, headers=USER).json()
        every_item = http.get("/v1/equipment", params={**fresh, "limit": BULK}, headers=USER)
        owners = {item["id"]: item["owner_id"] for item in every_item.json()["items"]}
    assert set(owners) == set(ids) and set(owners.values()) <= {customer_id, None}
    owned = {equipment_id for equipment_id, owner in owners.items() if owner == customer_id}
    # Item says yes exactly where the customer says yes: in the read models ...
    assert owned == set(customer["equipment_ids"])
    # ... and in the streams themselves.
    assert owned == streams_say_owned(tmp_path, ids) == customer_stream_lists(tmp_path, customer_id)
    # What was appended before the kill stays; what was not never happened.
    assert len(owned) == owner_changes(tmp_path) == at_kill


def streams_say_owned(data_dir: Path, ids: list[str]) -> set[str]:
    owned = set()
    for equipment_id in ids:
        rows = query(
            data_dir / "events.db",
            "SELECT type FROM events WHERE stream = ? ORDER BY revision",
            f"equipment-{equipment_id}",
        )
        if rows[-1][0] == EquipmentOwnerChanged.type_name:
            owned.add(equipment_id)
    return owned


def customer_stream_lists(data_dir: Path, customer_id: str) -> set[str]:
    listed: set[str] = set()
    for kind, data in query(
        data_dir / "events.db",
        "SELECT type, data FROM events WHERE stream = ? ORDER BY revision",
        f"customer-{customer_id}",
    ):
        equipment_id = json.loads(data).get("equipment_id")
        if kind.endswith("equipment_assigned.v1"):
            listed.add(equipment_id)
        elif kind.endswith("equipment_unassigned.v1"):
            listed.discard(equipment_id)
    return listed
