"""Uploaded lists are stored sealed under the import's own key, which the end of the import
destroys: what the store (its old row versions, its log) keeps of a list is ciphertext."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customer_command.adapters.import_store_sqlite import SQLiteImportStore
from customer_command.adapters.sealed_uploads import SealedUploads, UploadKeyLost
from customerhub_shared.keyring import KeyRing
from customerhub_shared.keyring.postgres import PostgresKeyRing
from customerhub_shared.keyring.sqlite import SQLiteKeyRing
from tests.integration.imports.test_import_store import (  # noqa: F401 - reopen: a fixture
    Reopen,
    a_record,
    reopen,
)

LIST = b"name,email\nClaire Martin,claire@martin.example\n"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def keyring(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyRing]:
    if request.param == "sqlite":
        ring: KeyRing = SQLiteKeyRing(tmp_path / "keys.db")
    else:
        ring = await PostgresKeyRing.open(request.getfixturevalue("postgres_dsn"))
    yield ring
    await ring.close()


async def test_a_list_is_stored_sealed_and_reads_back_plain(
    reopen: Reopen,  # noqa: F811
    keyring: KeyRing,
) -> None:
    inner = await reopen()
    store = SealedUploads(inner, keyring)
    record = a_record()
    await store.add(record, LIST)
    stored = await inner.content(record.import_id)
    assert b"Claire" not in stored and b"martin.example" not in stored
    assert await SealedUploads(await reopen(), keyring).content(record.import_id) == LIST


async def test_the_end_of_an_import_destroys_its_list_s_key(
    reopen: Reopen,  # noqa: F811
    keyring: KeyRing,
) -> None:
    inner = await reopen()
    store = SealedUploads(inner, keyring)
    record, unsealed = a_record(), a_record()
    await store.add(record, LIST)
    await store.add(unsealed, LIST)
    sealed_bytes = await inner.content(record.import_id)
    record.status, record.finished_at = "failed", datetime.now(UTC)
    await store.save_progress(record, [])
    assert await keyring.key_for(record.import_id) is None
    assert await keyring.key_for(unsealed.import_id) is not None
    # Even were the sealed bytes still somewhere (an old row version), they cannot be read.
    with pytest.raises(UploadKeyLost):
        await SealedUploads(_Keeping(sealed_bytes), keyring).content(record.import_id)


async def test_a_list_stored_before_sealing_reads_as_it_is(
    tmp_path: Path, keyring: KeyRing
) -> None:
    inner = SQLiteImportStore(tmp_path / "imports.db")
    record = a_record()
    await inner.add(record, LIST)
    assert await SealedUploads(inner, keyring).content(record.import_id) == LIST
    await inner.close()


class _Keeping(SQLiteImportStore):
    """A store that kept a list's bytes (as a dead row version or a log would)."""

    def __init__(self, kept: bytes) -> None:
        self._kept = kept

    async def content(self, import_id: object) -> bytes:  # type: ignore[override]
        return self._kept
