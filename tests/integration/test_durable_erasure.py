"""A destroyed key leaves no readable copy in the keyring's files (SQLite: the database, its
WAL and SHM; PostgreSQL: the table's files, and with a key-encryption key the WAL too), and
the SQLite stores that acknowledge writes commit them durably."""

from __future__ import annotations

import base64
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from customerhub_shared.idempotency.sqlite import SQLiteIdempotencyStore
from customerhub_shared.keyring.postgres import PostgresKeyRing
from customerhub_shared.keyring.sqlite import SQLiteKeyRing
from customerhub_shared.settings import Settings


def _holding(paths: list[Path], needle: bytes) -> list[str]:
    """Files whose bytes contain the needle anywhere (any 32-byte window, for a key)."""
    return [path.name for path in paths if path.is_file() and needle in path.read_bytes()]


def _keyring_files(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("keys.db*"))


async def test_a_destroyed_key_leaves_no_copy_in_any_keyring_file(tmp_path: Path) -> None:
    keyring = SQLiteKeyRing(tmp_path / "keys.db")
    try:
        subjects = [uuid.uuid4() for _ in range(40)]
        keys = [await keyring.create_key(subject) for subject in subjects]
        doomed, kept = keys[-1], keys[0]
        await keyring.destroy(subjects[-1])
        files = _keyring_files(tmp_path)
        assert {path.name for path in files} >= {"keys.db", "keys.db-wal"}
        assert _holding(files, doomed) == []
        assert _holding(files, kept) != [], "the scan must find a key that is still there"
        assert await keyring.key_for(subjects[0]) == kept
    finally:
        await keyring.close()


def _pragmas(db: sqlite3.Connection) -> tuple[int, int]:
    synchronous = db.execute("PRAGMA synchronous").fetchone()[0]
    secure_delete = db.execute("PRAGMA secure_delete").fetchone()[0]
    return synchronous, secure_delete


FULL, ON = 2, 1


async def test_stores_that_acknowledge_writes_commit_them_to_disk(tmp_path: Path) -> None:
    events = await SQLiteEventStore.open(tmp_path / "events.db")
    keyring = SQLiteKeyRing(tmp_path / "keys.db")
    answers = SQLiteIdempotencyStore(tmp_path / "idempotency.db")
    try:
        assert await events._db.write(_pragmas) == (FULL, ON)
        assert await events._db.read(_pragmas) == (FULL, ON)
        assert _pragmas(keyring._db) == (FULL, ON)
        assert _pragmas(answers._db) == (FULL, ON)
    finally:
        await events.close()
        await keyring.close()
        await answers.close()


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def server(fresh_postgres_dsn: str) -> Iterator[tuple[str, Path]]:
    """A database of its own and the server's data directory (readable: tests run as root)."""
    with psycopg.connect(fresh_postgres_dsn, autocommit=True) as db:
        row = db.execute("SHOW data_directory").fetchone()
    assert row is not None
    yield fresh_postgres_dsn, Path(row[0])


def _table_files(dsn: str, data_dir: Path) -> list[Path]:
    """The keys table's files: heap, free-space and visibility maps, TOAST, the index."""
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("CHECKPOINT")  # what is in shared buffers reaches the files
        rows = db.execute(
            "SELECT pg_relation_filepath(oid) FROM pg_class WHERE oid IN"
            " ('subject_keys'::regclass, 'subject_keys_pkey'::regclass,"
            "  (SELECT reltoastrelid FROM pg_class WHERE oid = 'subject_keys'::regclass))"
        ).fetchall()
    return [
        file
        for (relative,) in rows
        if relative is not None
        for file in (data_dir / relative).parent.glob(f"{Path(relative).name}*")
    ]


@pytest.mark.postgres
async def test_a_destroyed_postgres_key_leaves_the_table_files_at_once(
    server: tuple[str, Path],
) -> None:
    dsn, data_dir = server
    keyring = await PostgresKeyRing.open(dsn)
    try:
        subjects = [uuid.uuid4() for _ in range(40)]
        keys = [await keyring.create_key(subject) for subject in subjects]
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute("CHECKPOINT")
        await keyring.destroy(subjects[-1])
        files = _table_files(dsn, data_dir)
        assert _holding(files, keys[-1]) == []
        assert _holding(files, keys[0]) != [], "the scan must find a key that is still there"
        assert await keyring.key_for(subjects[0]) == keys[0]
    finally:
        await keyring.close()


def _wal_segments(data_dir: Path) -> list[Path]:
    return [path for path in (data_dir / "pg_wal").iterdir() if path.is_file()]


@pytest.mark.postgres
async def test_with_a_key_encryption_key_no_raw_key_reaches_the_table_or_the_wal(
    server: tuple[str, Path],
) -> None:
    dsn, data_dir = server
    plain = await PostgresKeyRing.open(dsn)
    legacy_subject = uuid.uuid4()
    legacy_key = await plain.create_key(legacy_subject)
    await plain.close()
    kek = os.urandom(32)
    keyring = await PostgresKeyRing.open(dsn, key_encryption_key=kek)
    try:
        subject = uuid.uuid4()
        key = await keyring.create_key(subject)
        assert await keyring.key_for(subject) == key
        assert await keyring.key_for(legacy_subject) == legacy_key  # stored before the KEK
        files = [*_table_files(dsn, data_dir), *_wal_segments(data_dir)]
        assert _holding(files, key) == []
        assert _holding(files, legacy_key) != [], "the scan must find a raw key where it is"
    finally:
        await keyring.close()
    with pytest.raises(RuntimeError, match="CUSTOMERHUB_KEYRING_KEK"):
        unwrapping = await PostgresKeyRing.open(dsn)
        try:
            await unwrapping.key_for(subject)
        finally:
            await unwrapping.close()


def test_the_key_encryption_key_setting_must_be_32_bytes_of_base64() -> None:
    kek = base64.urlsafe_b64encode(os.urandom(32)).decode()
    assert len(Settings(keyring_kek=kek).keyring_key_encryption_key() or b"") == 32
    with pytest.raises(ValueError, match="32 bytes"):
        Settings(keyring_kek=base64.b64encode(os.urandom(16)).decode())
