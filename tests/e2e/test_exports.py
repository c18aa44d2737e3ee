"""Exporting the list's matches as CSV and XLSX on the embedded default, and importing the
export back: a round trip changes nothing."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from customer_query.application.export import EXPORT_PAGE
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, SECRET, USER
from tests.e2e.test_imports import run_import, settle


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, jwt_secret=SECRET, log_level="WARNING")


@pytest.fixture
async def three(client: httpx.AsyncClient, create: Any) -> list[dict[str, Any]]:
    made = [
        await create("Boulangerie Martin", labels=["vip"], customer_number="C-1"),
        await create("Chauffage Müller", labels=["vip", "nord"], email="info@mueller.example"),
        await create("Plomberie Façade", labels=[], email="pf@facade.example", phone=None),
    ]
    contact = {"name": "Claire Martin", "email": "claire@martin.example", "main": True}
    answer = await client.post(
        f"/v1/customers/{made[0]['id']}/contacts", json=contact, headers=ADMIN
    )
    assert answer.status_code == 201
    await settle(client, 3)
    position = answer.json()["position"]
    await client.get("/v1/customers", params={"min_position": position}, headers=ADMIN)
    return made


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_rows(content: bytes) -> list[dict[str, Any]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


async def test_the_csv_export_flattens_main_contact_and_location_and_keeps_the_filters(
    client: httpx.AsyncClient, three: list[dict[str, Any]]
) -> None:
    response = await client.get("/v1/customers/export", params={"label": "vip"}, headers=USER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = csv_rows(response.content)
    assert [row["name"] for row in rows] == ["Boulangerie Martin", "Chauffage Müller"]
    martin = rows[0]
    assert (martin["id"], martin["customer_number"]) == (three[0]["id"], "C-1")
    assert (martin["contact_name"], martin["contact_email"]) == (
        "Claire Martin",
        "claire@martin.example",
    )
    assert (martin["street"], martin["city"], martin["country"]) == (
        "12 rue de la Paix",
        "Paris",
        "FR",
    )
    assert rows[1]["labels"] == "nord|vip" or rows[1]["labels"] == "vip|nord"
    everyone = csv_rows((await client.get("/v1/customers/export", headers=USER)).content)
    assert len(everyone) == 3


async def test_an_export_larger_than_a_page_holds_every_customer(
    client: httpx.AsyncClient, create: Any
) -> None:
    for n in range(205):
        await create(f"Client numéro {n:03d}", email=None, phone=None)
    await settle(client, 200)
    position = (await create("Dernier client", email=None, phone=None))["position"]
    response = await client.get(
        "/v1/customers/export", params={"min_position": position}, headers=USER
    )
    rows = csv_rows(response.content)
    assert len(rows) == 206
    assert len({row["id"] for row in rows}) == 206


async def test_the_xlsx_export_holds_the_same_rows_as_the_csv(
    client: httpx.AsyncClient, three: list[dict[str, Any]]
) -> None:
    as_csv = csv_rows((await client.get("/v1/customers/export", headers=USER)).content)
    response = await client.get("/v1/customers/export", params={"format": "xlsx"}, headers=USER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    as_xlsx = xlsx_rows(response.content)
    assert [row["id"] for row in as_xlsx] == [row["id"] for row in as_csv]
    assert as_xlsx[0]["contact_name"] == "Claire Martin"


async def test_the_xlsx_export_keeps_text_as_text_whatever_it_holds(
    client: httpx.AsyncClient, create: Any
) -> None:
    """A name that looks like a formula or an error stays text; a control character a
    worksheet cannot hold is left out instead of breaking the download half-way."""
    for name in ('=HYPERLINK("http://evil.example")', "#N/A", "Bad\x01Name"):
        position = (await create(name, email=None, phone=None))["position"]
    response = await client.get(
        "/v1/customers/export",
        params={"format": "xlsx", "min_position": position},
        headers=USER,
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    names = {cell.value: cell.data_type for cell in sheet["E"][1:]}
    assert names == {'=HYPERLINK("http://evil.example")': "s", "#N/A": "s", "BadName": "s"}


async def test_an_xlsx_export_writes_no_file_on_the_way(
    client: httpx.AsyncClient, create: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export is personal data: no temporary copy on disk to outlive an anonymisation.
    With no temporary directory at all, a page and more still export."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-directory"))
    for n in range(EXPORT_PAGE + 5):
        position = (await create(f"Client numéro {n:03d}", email=None, phone=None))["position"]
    params = {"format": "xlsx", "min_position": position}
    response = await client.get("/v1/customers/export", params=params, headers=USER)
    assert response.status_code == 200
    rows = xlsx_rows(response.content)
    assert len(rows) == EXPORT_PAGE + 5 and rows[0]["name"] == "Client numéro 000"


@pytest.mark.parametrize("format", ["csv", "xlsx"])
async def test_importing_an_export_back_changes_nothing(
    client: httpx.AsyncClient, three: list[dict[str, Any]], format: str
) -> None:
    exported = await client.get("/v1/customers/export", params={"format": format}, headers=USER)
    report = await run_import(client, exported.content, name=f"customers.{format}")
    assert report["counts"] == {
        "created": 0, "updated": 0, "unchanged": 3, "duplicates": 0, "failed": 0
    }, report  # fmt: skip


async def test_an_unknown_format_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/customers/export", params={"format": "pdf"}, headers=USER)
    assert response.status_code == 422
    assert (await client.get("/v1/customers/export")).status_code == 401
