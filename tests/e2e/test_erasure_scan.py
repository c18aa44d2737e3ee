"""Anonymise means gone, everywhere: after a canary customer is anonymised, no byte of any file
the embedded mode wrote (WAL and SHM files, the outbox, older read-model generations) holds
its personal data or its key, while its history still answers."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from customerhub.app import create_app
from customerhub.operations import replay_projections
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, SECRET, USER


def _token(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(5)}"


class Canary:
    """Distinctive random personal data in every personal field."""

    def __init__(self) -> None:
        digits = f"{secrets.randbelow(10**6):06d}"
        self.phone_e164 = f"+33612{digits}"
        self.phone = f"+33 6 12 {digits[:2]} {digits[2:4]} {digits[4:]}"
        other = f"{secrets.randbelow(10**6):06d}"
        self.contact_phone_e164 = f"+33698{other}"
        self.contact_phone = f"+33 6 98 {other}"
        self.fields = {
            "name": f"Zephyrine {_token('Quax')}",
            "internal_name": f"Alias {_token('Wobb')}",
            "email": f"{_token('mail')}@canary.example",
            "note": f"Note {_token('Plim')}",
            "custom": _token("Cust"),
            "street": f"{secrets.randbelow(900) + 10} rue {_token('Ruel')}",
            # Alphanumeric, as in the UK or the Netherlands: five random digits alone turn up
            # by chance in megabytes of PostgreSQL WAL, which is no proof of a leak.
            "postal_code": f"{secrets.randbelow(9000) + 1000} {secrets.token_hex(3).upper()}",
            "city": _token("Vill"),
            "street2": f"{secrets.randbelow(900) + 10} chemin {_token('Chem')}",
            "city2": _token("Bour"),
            "contact": f"Claire {_token('Cont')}",
            "contact_email": f"{_token('claire')}@canary.example",
            "position": _token("Posi"),
            "file_name": f"Contrat {_token('Fich')}.txt",
            "attachment_text": f"Contrat signé par {_token('Sign')}",
        }

    def needles(self) -> dict[str, bytes]:
        """Every form a value could be stored in: as written, lower-cased, UTF-16-LE; each
        random word alone (search terms hold words); phones in E.164 and digits only."""
        texts = [*self.fields.values(), self.phone, self.contact_phone]
        texts += [self.phone_e164, self.contact_phone_e164, self.phone_e164[1:]]
        words = {word for text in texts for word in text.split() if len(word) >= 8}
        found: dict[str, bytes] = {}
        for text in {*texts, *words}:
            for form in {text, text.lower()}:
                found[form] = form.encode()
                found[f"{form} (utf-16)"] = form.encode("utf-16-le")
        return found


async def _command(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: dict[str, str] = ADMIN,
) -> Any:
    response = await http.request(method, url, json=body, headers=headers)
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


async def _eventually(check: Callable[[], Any], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def _hits(root: Path, needles: dict[str, bytes]) -> list[str]:
    while (hits := _scan(root, needles)) is None:
        pass  # a file was renamed into place meanwhile (an outbox write): scan it all again
    return hits


def _scan(root: Path, needles: dict[str, bytes]) -> list[str] | None:
    hits = []
    for path in _files(root):
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            return None
        hits += [f"{path.name}: {label}" for label, needle in needles.items() if needle in content]
    return hits


def _key_of(data_dir: Path, customer_id: str) -> bytes:
    with sqlite3.connect(f"file:{data_dir / 'keys.db'}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT data_key FROM subject_keys WHERE subject = ?", (customer_id,)
        ).fetchone()
    assert row is not None and len(row[0]) == 32
    return bytes(row[0])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", jwt_secret=SECRET, log_level="WARNING")


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield client, app


async def _canary_customer(
    http: httpx.AsyncClient,
    canary: Canary,
    *,
    command: str = "",
    equipment: str = "",
    notifications: str = "",
    headers: dict[str, str] = ADMIN,
) -> str:
    """The canary with a second location, an alert-list contact opted in to email and SMS,
    an attachment, an item assigned and an ad-hoc SMS; the base URLs are the services' (one
    app: "")."""
    f = canary.fields
    created = await _command(
        http,
        "POST",
        f"{command}/v1/customers",
        {
            "kind": "company",
            "name": f["name"],
            "internal_name": f["internal_name"],
            "language": "fr",
            "email": f["email"],
            "phone": canary.phone,
            "note": f["note"],
            "custom_fields": {"loyalty": f["custom"]},
            "main_location": {
                "street": f["street"],
                "postal_code": f["postal_code"],
                "city": f["city"],
                "country": "FR",
            },
        },
        headers=headers,
    )
    url = f"{command}/v1/customers/{created['id']}"
    location = {"label": "Atelier", "street": f["street2"], "city": f["city2"]}
    await _command(http, "POST", f"{url}/locations", location, headers=headers)
    contact = {
        "name": f["contact"],
        "email": f["contact_email"],
        "phone": canary.contact_phone,
        "position": f["position"],
        "main": True,
        "notify": {"email": True, "sms": True},
        "equipment_alerts": True,
    }
    await _command(http, "POST", f"{url}/contacts", contact, headers=headers)
    attached = await http.post(
        f"{url}/attachments",
        files={"file": (f["file_name"], f["attachment_text"].encode(), "text/plain")},
        headers=headers,
    )
    assert attached.status_code == 201, attached.text
    new_item = {"name": "Chaudière", "serial_number": "S1"}
    item = await _command(http, "POST", f"{equipment}/v1/equipment", new_item, headers=headers)
    await _command(
        http, "POST", f"{url}/equipment", {"equipment_ids": [item["id"]]}, headers=headers
    )
    await _command(
        http,
        "POST",
        f"{notifications}/v1/notifications",
        {
            "customer_id": created["id"],
            "template": "technician_en_route",
            "params": {"technician": "Paul", "eta": "10:30"},
        },
        headers=headers,
    )
    return str(created["id"])


async def test_anonymised_canary_leaves_no_readable_byte_in_the_data_directory(
    http: tuple[httpx.AsyncClient, FastAPI], settings: Settings
) -> None:
    client, _ = http
    data_dir = settings.data_dir
    canary = Canary()
    customer_id = await _canary_customer(client, canary)
    outbox = data_dir / "outbox"

    async def messages_written() -> bool:
        return len(list(outbox.rglob("*.eml"))) >= 2 and len(list(outbox.rglob("*.json"))) >= 1

    await _eventually(messages_written)
    assert await replay_projections(settings, ["customers"]) == 0
    needles = canary.needles()
    assert _hits(data_dir, needles), "the canary's data should be on disk before anonymising"
    needles["raw key"] = _key_of(data_dir, customer_id)

    url = f"/v1/customers/{customer_id}"
    anonymised = await _command(client, "POST", f"{url}/anonymise")
    position = anonymised["position"]
    read = await client.get(url, params={"min_position": position}, headers=USER)
    assert read.status_code == 200 and read.json()["status"] == "anonymised"

    async def delivery_log_erased() -> bool:
        log = await client.get(
            "/v1/notifications", params={"customer_id": customer_id}, headers=USER
        )
        return all(entry["recipient"] is None for entry in log.json()["items"])

    await _eventually(delivery_log_erased)
    assert _hits(data_dir, needles) == []

    history = (await client.get(f"{url}/history", headers=USER)).json()["items"]
    assert history[-1]["personal_data_erased"] is True
    assert history[-1]["changes"]["name"] is None
    as_of = await client.get(url, params={"as_of": history[-1]["time"]}, headers=USER)
    assert as_of.status_code == 200 and as_of.json()["name"] is None


async def test_data_directory_and_its_files_are_private_to_their_owner(
    http: tuple[httpx.AsyncClient, FastAPI], settings: Settings
) -> None:
    client, _ = http
    await _canary_customer(client, Canary())
    await _eventually(lambda: _async(bool(list((settings.data_dir / "outbox").rglob("*.json")))))
    directories = [settings.data_dir, *(p for p in settings.data_dir.rglob("*") if p.is_dir())]
    files = _files(settings.data_dir)
    assert {"events.db-wal", "keys.db", "read.db-shm", "idempotency.db"} <= {f.name for f in files}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in directories} == {
        p.name: 0o700 for p in directories
    }
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}


async def _async(value: bool) -> bool:
    return value


async def test_anonymising_a_survivor_erases_what_its_merged_duplicates_held(
    http: tuple[httpx.AsyncClient, FastAPI], settings: Settings
) -> None:
    client, _ = http
    canary = Canary()
    duplicate_id = await _canary_customer(client, canary)
    survivor = await _command(
        client,
        "POST",
        "/v1/customers",
        {"kind": "company", "name": "Survivant SARL", "main_location": {"city": "Lyon"}},
    )
    url = f"/v1/customers/{survivor['id']}"
    await _command(client, "POST", f"{url}/merge", {"duplicate_ids": [duplicate_id]})
    needles = canary.needles()
    needles["raw key"] = _key_of(settings.data_dir, duplicate_id)
    anonymised = await _command(client, "POST", f"{url}/anonymise")

    redirect = await client.get(
        f"/v1/customers/{duplicate_id}",
        params={"min_position": anonymised["position"]},
        headers=USER,
    )
    assert redirect.status_code == 200, redirect.text
    assert redirect.json()["merged_into"] == survivor["id"]

    async def delivery_log_erased() -> bool:
        log = await client.get(
            "/v1/notifications", params={"customer_id": duplicate_id}, headers=USER
        )
        return all(entry["recipient"] is None for entry in log.json()["items"])

    await _eventually(delivery_log_erased)
    assert _hits(settings.data_dir, needles) == []
