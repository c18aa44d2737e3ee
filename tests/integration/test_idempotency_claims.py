"""Idempotency keys claimed in the shared store: two replicas (two stores on one database) that
get the same key at once run the request once and give the same first answer; SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from customerhub_shared.idempotency import (
    ClaimTiming,
    IdempotencyStore,
    RequestInProgress,
    StoredAnswer,
)
from customerhub_shared.idempotency.postgres import PostgresIdempotencyStore
from customerhub_shared.idempotency.sqlite import SQLiteIdempotencyStore

TIMING = ClaimTiming(wait_seconds=2.0, lease_seconds=30.0, poll_seconds=0.02)
Replicas = Callable[[ClaimTiming], Awaitable[tuple[IdempotencyStore, IdempotencyStore]]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Replicas]:
    """Opens two stores on one database, as two replicas of a service have."""
    opened: list[IdempotencyStore] = []

    async def open_one(timing: ClaimTiming) -> IdempotencyStore:
        if request.param == "sqlite":
            return SQLiteIdempotencyStore(tmp_path / "idempotency.db", timing)
        dsn = request.getfixturevalue("postgres_dsn")
        return await PostgresIdempotencyStore.open(dsn, timing)

    async def open_pair(timing: ClaimTiming) -> tuple[IdempotencyStore, IdempotencyStore]:
        pair = (await open_one(timing), await open_one(timing))
        opened.extend(pair)
        return pair

    yield open_pair
    for store in opened:
        await store.close()


def new_scope() -> str:
    return f"alice\x1fPOST /v1/customers {uuid.uuid4()}"


async def test_a_claimed_key_is_claimed_once_until_released(replicas: Replicas) -> None:
    first, second = await replicas(TIMING)
    scope = new_scope()
    token = await first.claim(scope, "k", "fingerprint-a")
    assert token is not None
    assert await second.claim(scope, "k", "fingerprint-a") is None
    assert await second.get(scope, "k") is None, "a claim is no answer"
    await second.release(scope, "k", "another-token")
    assert await second.claim(scope, "k", "fingerprint-a") is None
    await first.release(scope, "k", token)
    assert await second.claim(scope, "k", "fingerprint-a") is not None


async def test_an_answer_completes_the_claim_and_the_first_answer_is_kept(
    replicas: Replicas,
) -> None:
    first, second = await replicas(TIMING)
    scope = new_scope()
    assert await first.claim(scope, "k", "fingerprint-a") is not None
    answer = StoredAnswer("fingerprint-a", 201, b'{"version": 1}')
    assert await first.put(scope, "k", answer) == answer
    later = StoredAnswer("fingerprint-a", 201, b'{"version": 2}')
    assert await second.put(scope, "k", later) == answer
    assert await second.get(scope, "k") == answer
    assert await second.claim(scope, "k", "fingerprint-a") is None, "answered keys stay answered"


async def test_a_claim_older_than_the_lease_is_taken_over(replicas: Replicas) -> None:
    first, second = await replicas(ClaimTiming(wait_seconds=2.0, lease_seconds=0.3))
    scope = new_scope()
    abandoned = await first.claim(scope, "k", "fingerprint-a")
    assert abandoned is not None
    assert await second.claim(scope, "k", "fingerprint-a") is None
    await asyncio.sleep(0.5)
    taken_over = await second.claim(scope, "k", "fingerprint-a")
    assert taken_over is not None and taken_over != abandoned
    await first.release(scope, "k", abandoned)
    assert await first.claim(scope, "k", "fingerprint-a") is None, "a stale release is void"


async def test_two_replicas_with_one_key_at_once_answer_once_with_the_same_bytes(
    replicas: Replicas,
) -> None:
    first, second = await replicas(TIMING)
    scope, runs = new_scope(), []

    async def answer() -> StoredAnswer:
        runs.append(1)
        await asyncio.sleep(0.3)  # the other replica arrives while this one works
        return StoredAnswer("fingerprint-a", 201, f'{{"run": {len(runs)}}}'.encode())

    results = await asyncio.gather(
        first.first_answer(scope, "k", "fingerprint-a", answer),
        second.first_answer(scope, "k", "fingerprint-a", answer),
    )
    assert len(runs) == 1
    (one, one_replayed), (other, other_replayed) = results
    assert one == other == StoredAnswer("fingerprint-a", 201, b'{"run": 1}')
    assert sorted([one_replayed, other_replayed]) == [False, True]


async def test_a_request_waits_for_a_running_one_no_longer_than_the_wait(
    replicas: Replicas,
) -> None:
    first, second = await replicas(ClaimTiming(wait_seconds=0.4, lease_seconds=30.0))
    scope = new_scope()
    assert await first.claim(scope, "k", "fingerprint-a") is not None

    async def never_called() -> StoredAnswer:
        raise AssertionError("the key is claimed by another replica")

    started = time.monotonic()
    with pytest.raises(RequestInProgress):
        await second.first_answer(scope, "k", "fingerprint-a", never_called)
    assert 0.4 <= time.monotonic() - started < 1.5


async def test_a_failed_request_releases_its_key_for_the_next(replicas: Replicas) -> None:
    first, second = await replicas(TIMING)
    scope = new_scope()

    async def refused() -> StoredAnswer:
        raise ValueError("the command was refused")

    with pytest.raises(ValueError):
        await first.first_answer(scope, "k", "fingerprint-a", refused)

    async def accepted() -> StoredAnswer:
        return StoredAnswer("fingerprint-a", 201, b"{}")

    answer, replayed = await second.first_answer(scope, "k", "fingerprint-a", accepted)
    assert (answer.status, replayed) == (201, False)


def test_a_sqlite_file_from_before_claims_keeps_its_answers(tmp_path: Path) -> None:
    path = tmp_path / "idempotency.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE idempotent_answers (scope TEXT NOT NULL, key TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body BLOB NOT NULL,"
            " stored_at TEXT NOT NULL, PRIMARY KEY (scope, key))"
        )
        db.execute(
            "INSERT INTO idempotent_answers VALUES ('s', 'k', 'f', 201, x'7b7d', '2026-01-01')"
        )
    store = SQLiteIdempotencyStore(path)

    async def check() -> None:
        assert await store.get("s", "k") == StoredAnswer("f", 201, b"{}")
        assert await store.claim("s", "k", "f") is None
        assert await store.claim("s", "other", "f") is not None
        await store.close()

    asyncio.run(check())
