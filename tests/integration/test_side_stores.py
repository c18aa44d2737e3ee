"""The keyring and the idempotency store: one contract each, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
