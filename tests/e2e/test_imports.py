"""Importing a customer list over HTTP on the embedded default: CSV in both encodings and
separators, XLSX, dry run, mapping, row errors, re-import, likely duplicates."""

from __future__ import annotations

import asyncio
import io
import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, SECRET, USER

HEADER = ["external_id", "name", "email", "phone", "street", "postal_code", "city", "country"]
ROWS = [
    ["ext-1", "Boulangerie Étoile", "contact@etoile.example", "+33 1 40 00 00 01",
     "1 rue de Rivoli", "75001", "Paris", "FR"],
    ["ext-2", "Chauffage Müller", "info@mueller.example", "", "", "69001", "Lyon", "FR"],
    ["ext-3", "Plomberie Façade", "", "+33 4 78 00 00 03", "3 quai Perrache", "", "Lyon", "FR"],
]  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The embedded default, and the event store, keys and import state on PostgreSQL."""
    if request.param == "postgres":
        return Settings(
            data_dir=tmp_path,
            jwt_secret=SECRET,
            log_level="WARNING",
            event_store="postgres",
            postgres_dsn=request.getfixturevalue("fresh_postgres_dsn"),
        )
    return Settings(data_dir=tmp_path, jwt_secret=SECRET, log_level="WARNING")


def csv_bytes(
    rows: list[list[str]], *, separator: str = ",", encoding: str = "utf-8", header: Any = None
) -> bytes:
    lines = [header or HEADER, *rows]
    return "\r\n".join(separator.join(cells) for cells in lines).encode(encoding)


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for cells in [HEADER, *rows]:
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def run_import(
    client: httpx.AsyncClient, content: bytes, name: str = "customers.csv", **form: str
) -> dict[str, Any]:
    response = await client.post(
        "/v1/imports", files={"file": (name, content)}, data=form, headers=ADMIN
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]
    for _ in range(400):
        report = (await client.get(f"/v1/imports/{import_id}", headers=ADMIN)).json()
        if report["status"] in ("completed", "failed"):
            return dict(report)
        await asyncio.sleep(0.025)
    raise AssertionError(f"import {import_id} did not finish: {report}")


async def listed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/v1/customers", params={"limit": 200}, headers=ADMIN)
    return list(response.json()["items"])


async def settle(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    for _ in range(200):
        items = await listed(client)
        if len(items) >= count:
            return items
        await asyncio.sleep(0.025)
    raise AssertionError(f"expected {count} customers listed")


@pytest.mark.parametrize(
    ("separator", "encoding"), [(",", "utf-8"), (";", "utf-8"), (";", "cp1252"), (",", "cp1252")]
)
async def test_csv_rows_become_customers_in_either_encoding_and_separator(
    client: httpx.AsyncClient, separator: str, encoding: str
) -> None:
    report = await run_import(client, csv_bytes(ROWS, separator=separator, encoding=encoding))
    assert report["counts"] == {
        "created": 3, "updated": 0, "unchanged": 0, "duplicates": 0, "failed": 0
    }  # fmt: skip
    assert report["progress"] == {"processed": 3, "total": 3}
    names = sorted(customer["name"] for customer in await settle(client, 3))
    assert names == ["Boulangerie Étoile", "Chauffage Müller", "Plomberie Façade"]


async def test_an_xlsx_workbook_imports_like_a_csv(client: httpx.AsyncClient) -> None:
    report = await run_import(client, xlsx_bytes(ROWS), name="customers.xlsx")
    assert report["counts"]["created"] == 3
    customers = await settle(client, 3)
    etoile = next(c for c in customers if c["name"] == "Boulangerie Étoile")
    assert etoile["email"] == "contact@etoile.example"


async def test_the_same_file_twice_changes_nothing_the_second_time(
    client: httpx.AsyncClient,
) -> None:
    content = csv_bytes(ROWS)
    await run_import(client, content)
    await settle(client, 3)
    second = await run_import(client, content)
    assert second["counts"] == {
        "created": 0, "updated": 0, "unchanged": 3, "duplicates": 0, "failed": 0
    }  # fmt: skip
    assert len(await listed(client)) == 3


async def test_a_changed_row_updates_the_customer_it_names_by_external_id(
    client: httpx.AsyncClient,
) -> None:
    await run_import(client, csv_bytes(ROWS))
    changed = [list(ROWS[0]), *ROWS[1:]]
    changed[0][2] = "new@etoile.example"
    report = await run_import(client, csv_bytes(changed))
    assert (report["counts"]["updated"], report["counts"]["unchanged"]) == (1, 2)
    for _ in range(200):
        etoile = [c for c in await listed(client) if c["name"] == "Boulangerie Étoile"]
        if etoile and etoile[0]["email"] == "new@etoile.example":
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the update did not reach the read model")


async def test_a_dry_run_reports_without_writing(client: httpx.AsyncClient) -> None:
    report = await run_import(client, csv_bytes(ROWS), dry_run="true")
    assert report["dry_run"] is True
    assert report["counts"]["created"] == 3
    await asyncio.sleep(0.2)
    assert await listed(client) == []


async def test_rows_that_fail_validation_are_reported_by_row_and_field(
    client: httpx.AsyncClient,
) -> None:
    rows = [
        ROWS[0],
        ["ext-9", "", "x@example.com", "", "1 rue", "", "Paris", "FR"],
        ["ext-10", "Sans Email", "not-an-email", "", "1 rue", "", "Paris", "FR"],
        ["ext-11", "Sans Adresse", "", "", "", "75001", "", "FR"],
    ]
    report = await run_import(client, csv_bytes(rows))
    assert report["counts"]["created"] == 1
    assert report["counts"]["failed"] == 3
    problems = {(e["row"], e["field"]) for e in report["errors"]}
    assert problems == {(3, "name"), (4, "email"), (5, "main_location")}
    assert all(e["message"] for e in report["errors"])


async def test_a_mapping_names_the_field_of_each_column(client: httpx.AsyncClient) -> None:
    header = ["Raison sociale", "Courriel", "Ville", "Réf"]
    content = csv_bytes(
        [["Garage Dupont", "garage@dupont.example", "Nantes", "R-1"]], separator=";", header=header
    )
    mapping = {"Raison sociale": "name", "Courriel": "email", "Ville": "city", "Réf": "external_id"}
    report = await run_import(client, content, mapping=json.dumps(mapping))
    assert report["counts"]["created"] == 1, report
    [customer] = await settle(client, 1)
    assert (customer["name"], customer["email"]) == ("Garage Dupont", "garage@dupont.example")


async def test_likely_duplicates_are_reported_not_created_unless_asked(
    client: httpx.AsyncClient, create: Any
) -> None:
    existing = await create("Boulangerie Étoile", email="contact@etoile.example")
    await settle(client, 1)
    report = await run_import(client, csv_bytes(ROWS))
    assert report["counts"]["duplicates"] == 1
    assert report["counts"]["created"] == 2
    [duplicate] = report["duplicates"]
    assert duplicate["row"] == 2
    assert duplicate["matches"][0]["customer_id"] == existing["id"]
    again = await run_import(client, csv_bytes(ROWS[:1]), create_duplicates="true")
    # Names stay unique among active customers: asked to create it, the row fails on the name.
    assert again["counts"]["duplicates"] + again["counts"]["failed"] == 1


async def test_rows_match_existing_customers_by_customer_number(
    client: httpx.AsyncClient, create: Any
) -> None:
    existing = await create("Boulangerie Martin", customer_number="K-77")
    await settle(client, 1)
    header = ["customer_number", "name", "city", "internal_name"]
    content = csv_bytes([["K-77", "Boulangerie Martin", "Paris", "Martin Sud"]], header=header)
    report = await run_import(client, content)
    assert report["counts"]["updated"] == 1, report
    customer = (await client.get(f"/v1/customers/{existing['id']}", headers=ADMIN)).json()
    for _ in range(100):
        if customer["internal_name"] == "Martin Sud":
            break
        await asyncio.sleep(0.025)
        customer = (await client.get(f"/v1/customers/{existing['id']}", headers=ADMIN)).json()
    assert customer["internal_name"] == "Martin Sud"


async def test_an_unreadable_file_or_mapping_is_refused_and_only_admins_import(
    client: httpx.AsyncClient,
) -> None:
    files = {"file": ("x.csv", b"")}
    empty = await client.post("/v1/imports", files=files, headers=ADMIN)
    assert empty.status_code == 422
    assert empty.headers["content-type"] == "application/problem+json"
    files = {"file": ("x.csv", csv_bytes(ROWS))}
    bad = await client.post(
        "/v1/imports", files=files, data={"mapping": '{"nope": "name"}'}, headers=ADMIN
    )
    assert bad.status_code == 422
    assert (await client.post("/v1/imports", files=files, headers=USER)).status_code == 403
    unknown = await client.get("/v1/imports/6f1c0000-0000-4000-8000-000000000000", headers=ADMIN)
    assert unknown.status_code == 404


async def test_an_import_stopped_with_the_service_resumes_when_it_starts_again(
    settings: Settings,
) -> None:
    from customerhub.app import create_app

    rows = [[f"r-{n}", f"Atelier {n:04d}x", "", "", "", "", "Lyon", "FR"] for n in range(300)]
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            files = {"file": ("many.csv", csv_bytes(rows))}
            answer = await http.post("/v1/imports", files=files, headers=ADMIN)
            import_id = answer.json()["import_id"]
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            for _ in range(800):
                report = (await http.get(f"/v1/imports/{import_id}", headers=ADMIN)).json()
                if report["status"] == "completed":
                    break
                await asyncio.sleep(0.025)
    assert report["status"] == "completed", report
    assert sum(report["counts"].values()) == 300
    assert report["counts"]["failed"] == 0


async def test_a_row_with_contact_columns_creates_the_main_contact(
    client: httpx.AsyncClient,
) -> None:
    header = ["external_id", "name", "city", "contact_name", "contact_email", "contact_phone"]
    row = ["c-1", "Ferme Dubois", "Tours", "Claire Dubois", "claire@dubois.example", ""]
    report = await run_import(client, csv_bytes([row], header=header))
    assert report["counts"]["created"] == 1, report
    [customer] = await settle(client, 1)
    [contact] = customer["contacts"]
    assert (contact["name"], contact["email"], contact["main"]) == (
        "Claire Dubois",
        "claire@dubois.example",
        True,
    )
    again = await run_import(client, csv_bytes([row], header=header))
    assert again["counts"]["unchanged"] == 1


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("Boulangerie Martin SARL", ""),  # every word of the existing name, one more
        ("Martin Boulangerie", ""),  # the same words in another order
        ("Atelier Rivière", "contact@martin.example"),  # another name, the same email
    ],
)
async def test_rows_alike_an_existing_customer_are_held_back(
    client: httpx.AsyncClient, create: Any, name: str, email: str
) -> None:
    existing = await create("Boulangerie Martin", phone=None)
    await settle(client, 1)
    header = ["name", "email", "city"]
    report = await run_import(client, csv_bytes([[name, email, "Paris"]], header=header))
    assert report["counts"]["duplicates"] == 1, report
    assert report["duplicates"][0]["matches"][0]["customer_id"] == existing["id"]


@pytest.mark.parametrize("dry_run", ["false", "true"])
async def test_rows_alike_each_other_in_one_file_create_one_customer(
    client: httpx.AsyncClient, dry_run: str
) -> None:
    # b shares a's email: running beside a in a batch, it must still see a, which the read
    # model does not show yet. c is alike b, which is not created: c is, as row after row.
    header = ["external_id", "name", "email", "city"]
    rows = []
    for n in range(30):  # four-digit numbers: never one mistyped for another (ratio < 0.8)
        rows.append([f"a-{n}", f"Atelier {1000 + 7 * n}", f"shop{n}@twins.example", "Lyon"])
        rows.append([f"b-{n}", f"Garage {5000 + 7 * n}", f"shop{n}@twins.example", "Lyon"])
        rows.append([f"c-{n}", f"Garage {5000 + 7 * n} Freres", "", "Lyon"])
    report = await run_import(client, csv_bytes(rows, header=header), dry_run=dry_run)
    assert (report["counts"]["created"], report["counts"]["duplicates"]) == (60, 30), report
    assert {note["row"] % 3 for note in report["duplicates"]} == {0}  # every b, at rows 3, 6…
    if dry_run == "false":
        assert len(await settle(client, 60)) == 60


async def test_a_file_with_many_names_alike_holds_back_the_same_rows_the_second_time(
    client: httpx.AsyncClient,
) -> None:
    # 150 names share every word but a code, more than a read-model query brings back; each
    # twin mistypes the first letter of one code, so only that name, among the 150, finds it.
    letters, rng = "bcdfghjklmnpqrstvwxz", random.Random(15)
    codes = ["".join(rng.choice(letters) for _ in range(6)) for _ in range(150)]
    rows = [[f"g-{n}", f"Garage Nord Est {code}", "Lyon"] for n, code in enumerate(codes)]
    rows += [[f"t-{n}", f"Garage Nord Est a{codes[n * 7][1:]}", "Lyon"] for n in range(20)]
    content = csv_bytes(rows, header=["external_id", "name", "city"])
    first = await run_import(client, content)
    assert (first["counts"]["created"], first["counts"]["duplicates"]) == (150, 20), first
    await settle(client, 150)
    again = await run_import(client, content)
    assert again["counts"] == {
        "created": 0, "updated": 0, "unchanged": 150, "duplicates": 20, "failed": 0
    }  # fmt: skip


async def test_an_upload_may_exceed_a_json_body_up_to_its_own_limit(tmp_path: Path) -> None:
    from customerhub.app import create_app

    settings = Settings(
        data_dir=tmp_path, jwt_secret=SECRET, log_level="WARNING", import_max_bytes=3_000_000
    )
    padding = "x" * 120_000
    header = ["name", "city", "ignored"]
    rows = [[f"Atelier {n}", "Lyon", padding] for n in ("bcdf", "ghjk", "lmnp", "qrst")] * 3
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            content = csv_bytes(rows, header=header)
            assert len(content) > settings.max_body_bytes
            report = await run_import(http, content)
            assert (report["counts"]["created"], report["counts"]["duplicates"]) == (4, 8)
            too_big = csv_bytes(rows * 3, header=header)
            answer = await http.post(
                "/v1/imports", files={"file": ("big.csv", too_big)}, headers=ADMIN
            )
            assert answer.status_code == 413
