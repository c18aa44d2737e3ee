"""A customer's attachments over HTTP on the embedded default: upload, list, download, remove,
and what delete, anonymise and merge do with them; on the local blob store (SQLite and
PostgreSQL event stores) and on a real S3 server (SeaweedFS)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from customerhub.app import create_app
from customerhub_shared.blobs import BlobNotFound
from customerhub_shared.infrastructure import open_blob_store
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, SECRET, USER, token
from tests.e2e.office import lose_the_next_answer

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
MIB = 1024 * 1024


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "s3"],
)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The embedded default (its two event stores), and with its blob store on S3."""
    base: dict[str, Any] = {"data_dir": tmp_path, "jwt_secret": SECRET, "log_level": "WARNING"}
    if request.param == "postgres":
        dsn = request.getfixturevalue("fresh_postgres_dsn")
        return Settings(**base, event_store="postgres", postgres_dsn=dsn)
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        return Settings(
            **base,
            blob_store="s3",
            s3_endpoint=server.endpoint,
            s3_bucket="customerhub-tests",
            s3_access_key_id=server.access_key_id,
            s3_secret_access_key=server.secret_access_key,
        )
    return Settings(**base)


def files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


async def stored(settings: Settings, attachment_id: str) -> bytes | None:
    """The bytes the blob store holds for the attachment (sealed), read around the app."""
    blobs = open_blob_store(settings)
    try:
        return await blobs.get(f"attachments/{attachment_id}")
    except BlobNotFound:
        return None
    finally:
        await blobs.close()


def nothing_stored_locally(settings: Settings) -> bool:
    return settings.blob_store != "local" or files_under(settings.data_dir / "blobs") == []


async def upload(
    client: httpx.AsyncClient,
    customer_id: str,
    content: bytes = PDF,
    *,
    name: str = "devis-martin.pdf",
    content_type: str | None = "application/pdf",
    headers: dict[str, str] = USER,
) -> httpx.Response:
    part = (name, content, content_type) if content_type else (name, content)
    return await client.post(
        f"/v1/customers/{customer_id}/attachments", files={"file": part}, headers=headers
    )


async def attached(client: httpx.AsyncClient, customer_id: str, **kwargs: Any) -> dict[str, Any]:
    response = await upload(client, customer_id, **kwargs)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def listed(client: httpx.AsyncClient, customer_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/customers/{customer_id}/attachments", headers=USER)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if slug is not None:
        assert response.json()["type"].endswith("/" + slug), response.json()


async def test_an_uploaded_file_is_listed_and_downloads_as_the_same_bytes(
    client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    customer = (await create())["id"]
    answer = await attached(client, customer, name="Devis n°42 été.pdf")
    assert answer["id"] == customer and answer["version"] == 2
    assert answer["content_type"] == "application/pdf"
    assert answer["size"] == len(PDF)
    assert answer["sha256"] == hashlib.sha256(PDF).hexdigest()

    [item] = await listed(client, customer)
    assert item["attachment_id"] == answer["attachment_id"]
    assert item["file_name"] == "Devis n°42 été.pdf"
    assert (item["size"], item["content_type"], item["added_by"]) == (
        len(PDF),
        "application/pdf",
        "bob",
    )

    shown = await client.get(
        f"/v1/customers/{customer}", headers={**USER, "X-Min-Position": str(answer["position"])}
    )
    assert shown.status_code == 200, shown.text
    [summary] = shown.json()["attachments"]
    assert summary["attachment_id"] == answer["attachment_id"]
    assert summary["file_name"] == "Devis n°42 été.pdf"

    url = f"/v1/customers/{customer}/attachments/{answer['attachment_id']}"
    download = await client.get(url, headers=USER)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Devis n_42 _t_.pdf"')
    assert "filename*=UTF-8''Devis%20n%C2%B042%20%C3%A9t%C3%A9.pdf" in disposition
    assert download.headers["x-content-type-options"] == "nosniff"
    at_rest = await stored(settings, answer["attachment_id"])
    assert at_rest is not None and len(at_rest) == len(PDF) + 28  # nonce and tag
    assert PDF[:16] not in at_rest, "the bytes at rest are sealed with the customer's key"
    if settings.blob_store == "local":
        [blob] = files_under(settings.data_dir / "blobs")
        assert blob.read_bytes() == at_rest
        assert blob.stat().st_mode & 0o777 == 0o600
        assert (settings.data_dir / "blobs").stat().st_mode & 0o777 == 0o700


async def test_the_type_is_found_from_the_bytes_when_none_is_declared(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = (await create())["id"]
    png = await attached(client, customer, content=PNG, name="photo", content_type=None)
    assert png["content_type"] == "image/png"
    csv = await attached(
        client,
        customer,
        content=b"nom;ville\nMartin;Paris\n",
        name="liste.csv",
        content_type="text/csv",
    )
    assert csv["content_type"] == "text/csv"
    unknown = await attached(
        client,
        customer,
        content=bytes(range(256)),
        name="blob.bin",
        content_type="application/octet-stream",
    )
    assert unknown["content_type"] == "application/octet-stream"


async def test_a_declared_type_the_bytes_contradict_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    customer = (await create())["id"]
    lying = await upload(client, customer, PNG, name="facture.pdf", content_type="application/pdf")
    assert_problem(lying, 422, "attachment-type-mismatch")
    assert "image/png" in lying.json()["detail"]
    unchecked = await upload(
        client, customer, b"<p>hi</p>", name="x.html", content_type="text/html"
    )
    assert_problem(unchecked, 415, "attachment-type-unsupported")
    assert await listed(client, customer) == []
    assert nothing_stored_locally(settings)


async def test_a_file_over_25_mib_is_refused_with_413(
    client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    customer = (await create())["id"]
    just_over = await upload(client, customer, b"a" * (25 * MIB + 1), content_type="text/plain")
    assert_problem(just_over, 413, "attachment-too-large")
    far_over = await upload(client, customer, b"a" * (26 * MIB), content_type="text/plain")
    assert_problem(far_over, 413)
    assert await listed(client, customer) == []
    assert nothing_stored_locally(settings)
    at_limit = await attached(
        client, customer, content=b"a" * (25 * MIB), name="notes", content_type=None
    )
    assert at_limit["size"] == 25 * MIB


async def test_a_removed_attachment_is_gone_with_its_bytes(
    client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    customer = (await create())["id"]
    answer = await attached(client, customer)
    url = f"/v1/customers/{customer}/attachments/{answer['attachment_id']}"
    removed = await client.delete(url, headers=USER)
    assert removed.status_code == 200, removed.text
    assert removed.json()["version"] == 3
    assert await listed(client, customer) == []
    assert_problem(await client.get(url, headers=USER), 404, "attachment-not-found")
    assert_problem(await client.delete(url, headers=USER), 404, "attachment-not-found")
    assert await stored(settings, answer["attachment_id"]) is None
    assert nothing_stored_locally(settings)


async def test_attachments_need_a_user_and_an_existing_customer(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = (await create())["id"]
    subscriber = token("feed", ("subscriber",))
    assert_problem(await upload(client, customer, headers=subscriber), 403)
    url = f"/v1/customers/{customer}/attachments"
    assert_problem(await client.get(url, headers=subscriber), 403)
    assert_problem(await client.get(url), 401)
    unknown = "/v1/customers/00000000-0000-4000-8000-000000000000/attachments"
    assert_problem(await client.get(unknown, headers=USER), 404, "customer-not-found")
    missing = await client.post(
        unknown, files={"file": ("a.pdf", PDF, "application/pdf")}, headers=USER
    )
    assert_problem(missing, 404, "customer-not-found")


async def test_a_customer_with_attachments_cannot_be_deleted(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = (await create())["id"]
    answer = await attached(client, customer)
    refused = await client.delete(f"/v1/customers/{customer}", headers=ADMIN)
    assert_problem(refused, 409, "customer-has-attachments")
    url = f"/v1/customers/{customer}/attachments/{answer['attachment_id']}"
    assert (await client.delete(url, headers=USER)).status_code == 200
    deleted = await client.delete(f"/v1/customers/{customer}", headers=ADMIN)
    assert deleted.status_code == 200, deleted.text


async def test_anonymising_removes_the_attachments_bytes(
    client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    customer = (await create())["id"]
    first = await attached(client, customer)
    second = await attached(
        client, customer, content=PNG, name="photo.png", content_type="image/png"
    )
    anonymised = await client.post(f"/v1/customers/{customer}/anonymise", headers=ADMIN)
    assert anonymised.status_code == 200, anonymised.text
    assert await listed(client, customer) == []
    shown = await client.get(
        f"/v1/customers/{customer}",
        headers={**USER, "X-Min-Position": str(anonymised.json()["position"])},
    )
    assert shown.json()["attachments"] == []
    url = f"/v1/customers/{customer}/attachments/{first['attachment_id']}"
    assert_problem(await client.get(url, headers=USER), 404)
    assert await stored(settings, first["attachment_id"]) is None
    assert await stored(settings, second["attachment_id"]) is None
    assert nothing_stored_locally(settings)
    history = await client.get(
        f"/v1/customers/{customer}/history",
        headers={**ADMIN, "X-Min-Position": str(anonymised.json()["position"])},
    )
    assert history.status_code == 200, history.text
    assert "devis-martin" not in history.text and "photo.png" not in history.text


async def test_merging_moves_the_attachments_to_the_survivor(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    survivor = (await create("Boulangerie Martin"))["id"]
    duplicate = (await create("Boulangerie Martin SARL"))["id"]
    own = await attached(client, survivor, content=PNG, name="photo.png", content_type="image/png")
    moved = await attached(client, duplicate, name="contrat.pdf")
    merged = await client.post(
        f"/v1/customers/{survivor}/merge", json={"duplicate_ids": [duplicate]}, headers=ADMIN
    )
    assert merged.status_code == 200, merged.text

    items = await listed(client, survivor)
    assert [item["attachment_id"] for item in items] == [
        own["attachment_id"],
        moved["attachment_id"],
    ]
    assert items[1]["file_name"] == "contrat.pdf"
    url = f"/v1/customers/{survivor}/attachments/{moved['attachment_id']}"
    download = await client.get(url, headers=USER)
    assert download.status_code == 200 and download.content == PDF
    redirect = await client.get(f"/v1/customers/{duplicate}/attachments", headers=USER)
    assert_problem(redirect, 409, "customer-was-merged")
    assert redirect.json()["merged_into"] == survivor


async def test_a_retried_upload_with_the_same_idempotency_key_attaches_once(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = (await create())["id"]
    headers = {**USER, "Idempotency-Key": "upload-1"}
    first = await attached(client, customer, headers=headers)
    again = await upload(client, customer, headers=headers)
    assert again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["attachment_id"] == first["attachment_id"]
    other = await upload(client, customer, PNG, content_type="image/png", headers=headers)
    assert_problem(other, 422)
    assert len(await listed(client, customer)) == 1


async def test_a_key_reused_for_another_operation_still_attaches_the_file(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = (await create())["id"]
    headers = {**USER, "Idempotency-Key": "shared-key"}
    contact = {"name": "Claire", "main": True}
    added = await client.post(f"/v1/customers/{customer}/contacts", json=contact, headers=headers)
    assert added.status_code == 201, added.text
    answer = await attached(client, customer, headers=headers)
    assert answer["content_type"] == "application/pdf"
    assert answer["version"] == added.json()["version"] + 1
    assert [item["attachment_id"] for item in await listed(client, customer)] == [
        answer["attachment_id"]
    ]
    download = await client.get(
        f"/v1/customers/{customer}/attachments/{answer['attachment_id']}", headers=USER
    )
    assert download.status_code == 200 and download.content == PDF


async def test_a_retry_after_an_unanswered_upload_answers_as_the_first_would(
    app: FastAPI, client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    """The first attempt appended, then the process lost its answer (as a crash would): the
    retry finds the attachment added and attaches nothing more."""
    customer = (await create())["id"]
    lose_the_next_answer(app)
    headers = {**USER, "Idempotency-Key": "upload-lost"}
    with pytest.raises(ConnectionResetError):
        await upload(client, customer, headers=headers)
    retry = await upload(client, customer, headers=headers)
    assert retry.status_code == 201, retry.text
    answer = retry.json()
    assert answer["version"] == 2
    assert answer["content_type"] == "application/pdf" and answer["size"] == len(PDF)
    assert answer["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert len(await listed(client, customer)) == 1


async def test_an_unreachable_s3_store_answers_503_and_lists_nothing(tmp_path: Path) -> None:
    down = Settings(
        data_dir=tmp_path / "down",
        jwt_secret=SECRET,
        log_level="WARNING",
        blob_store="s3",
        s3_endpoint="http://127.0.0.1:9",
        s3_access_key_id="id",
        s3_secret_access_key="secret",
    )
    app = create_app(down)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            created = await http.post(
                "/v1/customers",
                json={"kind": "company", "name": "Fournil", "main_location": {"city": "Brest"}},
                headers=ADMIN,
            )
            customer = created.json()["id"]
            refused = await upload(http, customer)
            assert_problem(refused, 503, "blob-store-unavailable")
            assert refused.headers["retry-after"] == "5"
            assert await listed(http, customer) == []
