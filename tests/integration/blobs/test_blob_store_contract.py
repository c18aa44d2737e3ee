"""The blob store contract, written once and run against every adapter: local files and S3
(a real SeaweedFS server, started by scripts/seaweedfs.sh when none is given)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from customerhub_shared.blobs import BlobNotFound, BlobStore, BlobStoreUnavailable
from customerhub_shared.blobs.local import LocalBlobStore
from customerhub_shared.blobs.s3 import S3BlobStore
from customerhub_shared.blobs.sigv4 import Credentials
from tests.conftest import S3Server

# One bucket for the tests (each bucket is a collection of volumes on SeaweedFS); each test
# writes under a prefix of its own.
TEST_BUCKET = "customerhub-tests"


def s3_store(server: S3Server, bucket: str = TEST_BUCKET, secret: str | None = None) -> S3BlobStore:
    credentials = Credentials(server.access_key_id, secret or server.secret_access_key)
    return S3BlobStore(server.endpoint, bucket, credentials)


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "s3":
        adapter: BlobStore = s3_store(request.getfixturevalue("s3_server"))
    else:
        adapter = LocalBlobStore(tmp_path / "blobs")
    try:
        yield adapter
    finally:
        await adapter.close()


@pytest.fixture
def prefix() -> str:
    return f"tests/{uuid.uuid4()}"


async def test_the_bytes_put_are_the_bytes_read(store: BlobStore, prefix: str) -> None:
    binary = os.urandom(3 * 1024 * 1024 + 17)
    await store.put(f"{prefix}/binary", binary)
    await store.put(f"{prefix}/empty", b"")
    assert await store.get(f"{prefix}/binary") == binary
    assert await store.get(f"{prefix}/empty") == b""


async def test_a_put_replaces_what_was_under_the_key(store: BlobStore, prefix: str) -> None:
    await store.put(f"{prefix}/quote.pdf", b"first")
    await store.put(f"{prefix}/quote.pdf", b"second, longer")
    assert await store.get(f"{prefix}/quote.pdf") == b"second, longer"


async def test_a_key_never_written_is_not_found(store: BlobStore, prefix: str) -> None:
    with pytest.raises(BlobNotFound):
        await store.get(f"{prefix}/never")


async def test_a_deleted_blob_is_gone_and_deleting_again_is_no_error(
    store: BlobStore, prefix: str
) -> None:
    await store.put(f"{prefix}/a", b"kept")
    await store.put(f"{prefix}/b", b"removed")
    await store.delete(f"{prefix}/b")
    with pytest.raises(BlobNotFound):
        await store.get(f"{prefix}/b")
    await store.delete(f"{prefix}/b")
    await store.delete(f"{prefix}/never")
    assert await store.get(f"{prefix}/a") == b"kept"


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../outside", "a/../../b", "a//b", "a b"])
async def test_keys_that_could_escape_or_be_misread_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(key, b"x")
    with pytest.raises(ValueError):
        await store.get(key)


async def test_local_blobs_are_private_files_and_deleted_ones_leave_nothing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    content = b"Claire Martin, 12 rue de la Paix"
    await store.put("attachments/one", content)
    path = root / "attachments" / "one"
    assert path.stat().st_mode & 0o777 == 0o600
    assert root.stat().st_mode & 0o777 == 0o700
    assert (root / "attachments").stat().st_mode & 0o777 == 0o700
    await store.delete("attachments/one")
    leftovers = [p for p in root.rglob("*") if p.is_file()]
    assert leftovers == []


async def test_s3_refuses_a_wrong_secret(s3_server: S3Server, prefix: str) -> None:
    """The server checks signatures: a correct one is what lets the other tests through."""
    store = s3_store(s3_server, secret="not-the-secret")
    try:
        with pytest.raises(BlobStoreUnavailable, match="403"):
            await store.put(f"{prefix}/x", b"x")
    finally:
        await store.close()


async def test_s3_creates_a_missing_bucket_on_first_use(s3_server: S3Server) -> None:
    bucket = "customerhub-tests-created"
    store = s3_store(s3_server, bucket=bucket)
    try:
        await store.put("first", b"in a new bucket")
        assert await store.get("first") == b"in a new bucket"
        await store.delete("first")
    finally:
        await store.close()
    again = s3_store(s3_server, bucket=bucket)  # a second process finds it made
    try:
        with pytest.raises(BlobNotFound):
            await again.get("first")
    finally:
        await again.close()


async def test_an_unreachable_s3_server_is_unavailable_not_a_crash() -> None:
    store = S3BlobStore("http://127.0.0.1:9", TEST_BUCKET, Credentials("id", "secret"))
    try:
        with pytest.raises(BlobStoreUnavailable):
            await store.get("anything")
    finally:
        await store.close()
