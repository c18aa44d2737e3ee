"""Importing a customer list on the local cluster: the import runs in customer-command with its
state in PostgreSQL, the customers come back from customer-query (MongoDB), the export of
customer-query imports back unchanged, and an uploaded list leaves no readable byte in
PostgreSQL once it is imported and its customer anonymised.
Run it under `flock /tmp/customerhub-cluster.lock`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.e2e.test_cluster import (  # noqa: F401 - cluster and http: fixtures, used by name
    HEADERS,
    Cluster,
    cluster,
    http,
    read_from,
)
from tests.e2e.test_cluster_erasure import _postgres_files, _scan
from tests.e2e.test_erasure_scan import Canary, _command

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.mongodb]

HEADER = "external_id;name;email;phone;street;postal_code;city;country;contact_name;contact_email"


def customer_list(canary: Canary) -> bytes:
    f = canary.fields
    lines = [
        HEADER,
        "erp-1;Boulangerie Étoile;contact@etoile.example;+33 1 40 00 00 01;1 rue de Rivoli;"
        "75001;Paris;FR;Jeanne Martin;jeanne@etoile.example",
        "erp-2;Chauffage Müller;not-an-email;;;69001;Lyon;FR;;",
        f"erp-3;{f['name']};{f['email']};{canary.phone};{f['street']};{f['postal_code']};"
        f"{f['city']};FR;{f['contact']};{f['contact_email']}",
        "erp-4;Plomberie Façade;;+33 4 78 00 00 03;3 quai Perrache;69002;Lyon;FR;;",
    ]
    return "\r\n".join(lines).encode("cp1252", errors="strict")


async def run_import(
    client: httpx.AsyncClient, running: Cluster, content: bytes, name: str, **form: str
) -> dict[str, Any]:
    posted = await client.post(
        f"{running.command_url}/v1/imports", files={"file": (name, content)}, data=form
    )
    assert posted.status_code == 202, posted.text
    report_url = f"{running.command_url}/v1/imports/{posted.json()['import_id']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report: dict[str, Any] = (await client.get(report_url)).json()
        if report["status"] in ("completed", "failed"):
            assert report["status"] == "completed", report
            return report
        await asyncio.sleep(0.1)
    raise AssertionError(f"the import did not finish: {report}")


async def listed(client: httpx.AsyncClient, running: Cluster, count: int) -> list[dict[str, Any]]:
    """The customers customer-query lists, once it lists `count` of them."""
    deadline = time.monotonic() + 60
    while True:
        answer = await client.get(f"{running.query_url}/v1/customers", params={"limit": 200})
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        if len(items) >= count or time.monotonic() > deadline:
            assert len(items) == count, items
            return items
        await asyncio.sleep(0.1)


def counts(report: dict[str, Any]) -> tuple[int, int, int, int, int]:
    c = report["counts"]
    return c["created"], c["updated"], c["unchanged"], c["duplicates"], c["failed"]


async def test_an_import_on_the_cluster_reports_round_trips_and_forgets_its_list(
    cluster: Cluster,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    canary = Canary()
    content = customer_list(canary)

    dry = await run_import(http, cluster, content, "clients.csv", dry_run="true")
    assert counts(dry) == (3, 0, 0, 0, 1)
    assert dry["dry_run"] is True
    assert [(e["row"], e["field"]) for e in dry["errors"]] == [(3, "email")]
    assert (await http.get(f"{cluster.query_url}/v1/customers")).json()["items"] == []

    report = await run_import(http, cluster, content, "clients.csv")
    assert counts(report) == (3, 0, 0, 0, 1)
    assert report["progress"] == {"processed": 4, "total": 4}
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "email")]
    customers = {c["name"]: c for c in await listed(http, cluster, 3)}
    assert set(customers) == {"Boulangerie Étoile", canary.fields["name"], "Plomberie Façade"}
    etoile_id = customers["Boulangerie Étoile"]["id"]
    etoile = (await http.get(f"{cluster.query_url}/v1/customers/{etoile_id}")).json()
    assert etoile["email"] == "contact@etoile.example"
    assert [c["name"] for c in etoile["contacts"]] == ["Jeanne Martin"]

    again = await run_import(http, cluster, content, "clients.csv")
    assert counts(again) == (0, 0, 3, 0, 1)

    exported = await http.get(f"{cluster.query_url}/v1/customers/export", params={"format": "csv"})
    assert exported.status_code == 200, exported.text
    back = await run_import(http, cluster, exported.content, "export.csv")
    assert counts(back) == (0, 0, 3, 0, 0)
    await listed(http, cluster, 3)

    canary_id = customers[canary.fields["name"]]["id"]
    url = f"{cluster.command_url}/v1/customers/{canary_id}/anonymise"
    answer = await _command(http, "POST", url, headers=HEADERS)
    forgotten = await read_from(
        http, f"{cluster.query_url}/v1/customers/{canary_id}", answer["position"]
    )
    assert forgotten["status"] == "anonymised"
    files = [
        *_postgres_files(cluster.settings["CUSTOMERHUB_POSTGRES_DSN"]),
        *(p for p in cluster.directory.rglob("*") if p.is_file()),
    ]
    assert _scan(files, canary.needles()) == []
