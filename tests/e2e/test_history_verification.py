"""The hash chain over HTTP and on the command line: a flipped byte in a stored event is named,
an anonymised customer's history still verifies."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import httpx
import psycopg
import pytest

from customerhub.audit import verify_history
from customerhub.cli import main
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, USER


async def _history(client: httpx.AsyncClient, customer_id: str) -> httpx.Response:
    return await client.get(f"/v1/customers/{customer_id}/history/verify", headers=ADMIN)


async def _version(client: httpx.AsyncClient, customer_id: str) -> int:
    history = await client.get(f"/v1/customers/{customer_id}/history", headers=ADMIN)
    version: int = history.json()["version"]
    return version


async def _with_contact(client: httpx.AsyncClient, create: Any) -> str:
    customer_id: str = (await create())["id"]
    contact = {"name": "Claire Martin", "email": "claire@martin.example", "main": True}
    answer = await client.post(f"/v1/customers/{customer_id}/contacts", json=contact, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return customer_id


async def test_an_untouched_history_verifies_with_its_head(
    client: httpx.AsyncClient, create: Any
) -> None:
    customer_id = await _with_contact(client, create)
    answer = await _history(client, customer_id)
    assert answer.status_code == 200
    body = answer.json()
    assert body["verified"] is True and body["events"] == await _version(client, customer_id)
    assert len(body["head"]) == 64 and "first_mismatch" not in body


async def test_an_anonymised_customer_still_verifies_to_the_same_chain(
    client: httpx.AsyncClient, create: Any
) -> None:
    customer_id = await _with_contact(client, create)
    before = (await _history(client, customer_id)).json()
    anonymised = await client.post(f"/v1/customers/{customer_id}/anonymise", headers=ADMIN)
    assert anonymised.status_code == 200, anonymised.text
    after = (await _history(client, customer_id)).json()
    assert after["verified"] is True
    assert after["events"] == before["events"] + 1


async def test_a_flipped_byte_in_a_stored_event_is_named(
    client: httpx.AsyncClient, create: Any, settings: Settings
) -> None:
    customer_id = await _with_contact(client, create)
    version = await _version(client, customer_id)
    _flip_a_byte(settings, f"customer-{customer_id}", revision=1)
    answer = await _history(client, customer_id)
    assert answer.status_code == 200
    body = answer.json()
    assert body["verified"] is False and body["events"] == version
    assert body["first_mismatch"]["revision"] == 1
    assert body["first_mismatch"]["stream"] == f"customer-{customer_id}"
    assert body["first_mismatch"]["stored_hash"] != body["first_mismatch"]["expected_hash"]


async def test_verification_is_for_admins_and_known_customers(
    client: httpx.AsyncClient, create: Any
) -> None:
    customer_id = (await create())["id"]
    refused = await client.get(f"/v1/customers/{customer_id}/history/verify", headers=USER)
    assert refused.status_code == 403
    missing = await _history(client, "00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_the_cli_verifies_the_whole_log_and_names_a_broken_event(
    client: httpx.AsyncClient,
    create: Any,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = await _with_contact(client, create), (await create("Café Rivoli"))["id"]
    assert await verify_history(settings, None) == 0
    whole = json.loads(capsys.readouterr().out)
    assert whole["verified"] is True and whole["events"] >= 3

    _flip_a_byte(settings, f"customer-{second}", revision=0)
    assert await verify_history(settings, None) == 1
    broken = json.loads(capsys.readouterr().out)
    assert broken["first_mismatch"]["stream"] == f"customer-{second}"
    assert await verify_history(settings, _uuid(first)) == 0
    assert json.loads(capsys.readouterr().out)["events"] == await _version(client, first)


def test_audit_verify_is_a_cli_command(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUSTOMERHUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CUSTOMERHUB_EVENT_STORE", "sqlite")
    assert main(["audit", "verify"]) == 0
    assert json.loads(capsys.readouterr().out) == {"verified": True, "streams": 0, "events": 0}


def _uuid(text: str) -> Any:
    from uuid import UUID

    return UUID(text)


def _flip_a_byte(settings: Settings, stream: str, *, revision: int) -> None:
    """Change one byte of the sealed data as stored, behind the application's back."""
    if settings.event_store == "postgres":
        assert settings.postgres_dsn is not None
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as db:
            db.execute(
                "UPDATE events SET data = set_byte(data, 10, get_byte(data, 10) # 1)"
                " WHERE stream = %s AND revision = %s",
                (stream, revision),
            )
        return
    with sqlite3.connect(settings.data_dir / "events.db") as db:
        (data,) = db.execute(
            "SELECT data FROM events WHERE stream = ? AND revision = ?", (stream, revision)
        ).fetchone()
        flipped = bytearray(data)
        flipped[10] ^= 0x01
        db.execute(
            "UPDATE events SET data = ? WHERE stream = ? AND revision = ?",
            (bytes(flipped), stream, revision),
        )
