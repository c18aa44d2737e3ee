"""The keyring, the idempotency store and the access log: one contract each, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from customerhub_shared.accesslog import AccessLog, AccessRecord
from customerhub_shared.accesslog.postgres import PostgresAccessLog
from customerhub_shared.accesslog.sqlite import SQLiteAccessLog
from customerhub_shared.idempotency import IdempotencyStore, StoredAnswer
from customerhub_shared.idempotency.postgres import PostgresIdempotencyStore
from customerhub_shared.idempotency.sqlite import SQLiteIdempotencyStore
from customerhub_shared.keyring import KeyDestroyed, KeyRing
from customerhub_shared.keyring.postgres import PostgresKeyRing
from customerhub_shared.keyring.sqlite import SQLiteKeyRing


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def keyring(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyRing]:
    if request.param == "sqlite":
        ring: KeyRing = SQLiteKeyRing(tmp_path / "keys.db")
    else:
        ring = await PostgresKeyRing.open(request.getfixturevalue("postgres_dsn"))
    yield ring
    await ring.close()


async def test_keys_looked_up_together_are_those_kept_alone(keyring: KeyRing) -> None:
    kept = [uuid.uuid4() for _ in range(3)]
    keys = [await keyring.create_key(subject) for subject in kept]
    destroyed, never_had_one = uuid.uuid4(), uuid.uuid4()
    await keyring.create_key(destroyed)
    await keyring.destroy(destroyed)
    asked = [*kept, destroyed, never_had_one, kept[0]]
    assert await keyring.keys_for(asked) == dict(zip(kept, keys, strict=True))
    assert await keyring.keys_for([]) == {}


async def test_concurrent_creates_each_get_their_own_key(keyring: KeyRing) -> None:
    subjects = [uuid.uuid4() for _ in range(20)]
    created = await asyncio.gather(*(keyring.create_key(subject) for subject in subjects))
    assert len(set(created)) == 20
    assert await keyring.keys_for(subjects) == dict(zip(subjects, created, strict=True))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def answers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[IdempotencyStore]:
    if request.param == "sqlite":
        store: IdempotencyStore = SQLiteIdempotencyStore(tmp_path / "idempotency.db")
    else:
        store = await PostgresIdempotencyStore.open(request.getfixturevalue("postgres_dsn"))
    yield store
    await store.close()


async def test_a_subject_keeps_one_key_until_it_is_destroyed(keyring: KeyRing) -> None:
    subject = uuid.uuid4()
    assert await keyring.key_for(subject) is None
    key = await keyring.create_key(subject)
    assert len(key) == 32
    assert await keyring.create_key(subject) == key
    assert await keyring.key_for(subject) == key
    assert await keyring.create_key(uuid.uuid4()) != key


async def test_a_destroyed_key_is_gone_and_never_made_again(keyring: KeyRing) -> None:
    subject = uuid.uuid4()
    await keyring.create_key(subject)
    await keyring.destroy(subject)
    assert await keyring.key_for(subject) is None
    with pytest.raises(KeyDestroyed):
        await keyring.create_key(subject)
    await keyring.destroy(subject)
    never_had_one = uuid.uuid4()
    await keyring.destroy(never_had_one)
    with pytest.raises(KeyDestroyed):
        await keyring.create_key(never_had_one)


async def test_the_first_answer_is_kept(answers: IdempotencyStore) -> None:
    scope, key = f"alice {uuid.uuid4()}", "retry-1"
    assert await answers.get(scope, key) is None
    first = StoredAnswer("fingerprint-a", 201, b'{"version": 1}')
    await answers.put(scope, key, first)
    await answers.put(scope, key, StoredAnswer("fingerprint-b", 200, b'{"version": 2}'))
    assert await answers.get(scope, key) == first
    assert await answers.get(f"bob {uuid.uuid4()}", key) is None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def access_log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AccessLog]:
    if request.param == "sqlite":
        log: AccessLog = SQLiteAccessLog(tmp_path / "access.db")
    else:
        # A database of its own: the page assertions need a log no other test writes to.
        log = await PostgresAccessLog.open(request.getfixturevalue("fresh_postgres_dsn"))
    yield log
    await log.close()


def _access(n: int, customers: tuple[uuid.UUID, ...] = ()) -> AccessRecord:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
    return AccessRecord(uuid.uuid4(), at, f"billing-{n}", customers, events=n)


async def test_the_access_log_reads_back_newest_first_page_by_page(access_log: AccessLog) -> None:
    customers = (uuid.uuid4(), uuid.uuid4())
    written = [_access(n, customers if n == 4 else ()) for n in range(5)]
    for entry in written:
        await access_log.record(entry)
    first = await access_log.newest(limit=2)
    assert first.records == [written[4], written[3]]
    assert first.records[0].customer_ids == customers
    second = await access_log.newest(before=first.next_before, limit=2)
    assert second.records == [written[2], written[1]]
    last = await access_log.newest(before=second.next_before, limit=2)
    assert last.records == [written[0]] and last.next_before is None


async def test_an_empty_access_log_has_one_empty_page(access_log: AccessLog) -> None:
    page = await access_log.newest()
    assert page.records == [] and page.next_before is None


async def test_the_access_log_survives_reopening(tmp_path: Path) -> None:
    entry = _access(1, (uuid.uuid4(),))
    log = SQLiteAccessLog(tmp_path / "access.db")
    await log.record(entry)
    await log.close()
    reopened = SQLiteAccessLog(tmp_path / "access.db")
    assert (await reopened.newest()).records == [entry]
    await reopened.close()
