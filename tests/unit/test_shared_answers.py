"""Creates looking at the read model at the same position share the answers of the queries
they have in common; a new write (position) makes them ask again; a failure is not kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from customer_query.application.queries import ReadModel
from customerhub.shared_answers import SharedAnswers
from customerhub_shared.readstore import Document, Query
from customerhub_shared.readstore.sqlite import SQLiteReadStore

CUSTOMERS = "customers"
ADA = Query(prefixes=("ada",), limit=20, fields=("name_key",))
BOB = Query(prefixes=("bob",), limit=20, fields=("name_key",))


class CountingStore:
    """The real store, counting the queries it is asked and failing once when told to."""

    def __init__(self, store: SQLiteReadStore) -> None:
        self.store = store
        self.asked: list[Query] = []
        self.fail_next = False

    async def find_each(self, collection: str, queries: Sequence[Query]) -> list[list[Document]]:
        self.asked += queries
        await asyncio.sleep(0.01)  # in flight while the other create asks
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk gone")
        return await self.store.find_each(collection, queries)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = await SQLiteReadStore.open(tmp_path / "read.db")
    await _write(store, position=1, name="ada lovelace")
    yield store
    await store.close()


async def _write(store: SQLiteReadStore, *, position: int, name: str) -> None:
    document = {
        "_id": f"c{position}",
        "_version": 1,
        "name_key": name,
        "search_terms": name.split(),
    }
    await store.write(CUSTOMERS, [document], checkpoint_name="customers", position=position)


def _names(answers: list[list[Document]]) -> list[list[Any]]:
    return [sorted(doc["name_key"] for doc in found) for found in answers]


async def test_creates_at_one_position_ask_a_shared_query_once(store: SQLiteReadStore) -> None:
    counting = CountingStore(store)
    shared = SharedAnswers()
    read_model = ReadModel(counting, CUSTOMERS)  # type: ignore[arg-type]
    first, second = await asyncio.gather(
        shared.at(read_model, 1).find_each([ADA]),
        shared.at(read_model, 1).find_each([ADA, BOB]),
    )
    assert _names(first) == [["ada lovelace"]]
    assert _names(second) == [["ada lovelace"], []]
    assert counting.asked == [ADA, BOB]

    await _write(store, position=2, name="ada byron")
    [again] = await shared.at(read_model, 2).find_each([ADA])
    assert sorted(doc["name_key"] for doc in again) == ["ada byron", "ada lovelace"]
    assert counting.asked == [ADA, BOB, ADA]


async def test_a_failed_answer_is_asked_again(store: SQLiteReadStore) -> None:
    counting = CountingStore(store)
    shared = SharedAnswers()
    read_model = ReadModel(counting, CUSTOMERS)  # type: ignore[arg-type]
    counting.fail_next = True
    with pytest.raises(OSError):
        await shared.at(read_model, 1).find_each([ADA])
    assert _names(await shared.at(read_model, 1).find_each([ADA])) == [["ada lovelace"]]
    assert counting.asked == [ADA, ADA]


async def test_a_create_that_goes_away_leaves_the_others_their_answer(
    store: SQLiteReadStore,
) -> None:
    counting = CountingStore(store)
    shared = SharedAnswers()
    read_model = ReadModel(counting, CUSTOMERS)  # type: ignore[arg-type]
    leaving = asyncio.ensure_future(shared.at(read_model, 1).find_each([ADA]))
    staying = asyncio.ensure_future(shared.at(read_model, 1).find_each([ADA]))
    await asyncio.sleep(0)
    leaving.cancel()
    assert _names(await staying) == [["ada lovelace"]]
    assert counting.asked == [ADA]
