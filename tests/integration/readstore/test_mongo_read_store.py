"""The read-store contract on a real MongoDB-wire server (MongoDB, or FerretDB without Docker)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError

from customerhub_shared.readstore import Document, Query, ReadStore, mongo
from customerhub_shared.readstore.mongo import MongoReadStore, _refused_index
from tests.integration.mongo_server import mongodb_url
from tests.integration.readstore.contract import (
    ReadStoreContract,
    customer,
    fresh_collection,
    put,
)

pytestmark = pytest.mark.mongodb


@pytest.fixture(scope="session")
def mongodb() -> str:
    # Provisioning may build and start FerretDB (minutes the first time): keep it off any loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(mongodb_url).result()
        except RuntimeError as error:
            pytest.fail(str(error), pytrace=False)


@pytest.fixture
async def database(mongodb: str) -> AsyncIterator[str]:
    """A database of its own for each test, dropped afterwards: the server is shared."""
    name = f"readstore_{uuid.uuid4().hex[:16]}"
    yield name
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb)
    try:
        await client.drop_database(name)
    finally:
        await client.close()


async def open_store(url: str, database: str) -> MongoReadStore:
    return await MongoReadStore.open(url, database=database)


async def is_ferretdb(url: str) -> bool:
    client: AsyncMongoClient[Document] = AsyncMongoClient(url)
    try:
        return "ferretdbVersion" in await client.admin.command("buildInfo")
    finally:
        await client.close()


class TestMongoReadStore(ReadStoreContract):
    @pytest.fixture
    async def store(self, mongodb: str, database: str) -> AsyncIterator[MongoReadStore]:
        store = await open_store(mongodb, database)
        yield store
        await store.close()

    async def test_arrays_directly_inside_arrays_round_trip_exactly(  # type: ignore[override]
        self, store: ReadStore, mongodb: str, request: pytest.FixtureRequest
    ) -> None:
        if await is_ferretdb(mongodb):
            request.applymarker(
                pytest.mark.xfail(
                    raises=BulkWriteError,
                    strict=True,
                    reason="FerretDB 1.x refuses arrays directly inside arrays (MongoDB stores "
                    "them); read models must not need them while FerretDB serves the tests",
                )
            )
        await super().test_arrays_directly_inside_arrays_round_trip_exactly(store)


class TestMongoReadStoreGuardedUpserts(TestMongoReadStore):
    """The write path for real MongoDB (conditional upserts), on whichever server runs: on
    FerretDB it is slow on large collections but gives the same results."""

    @pytest.fixture
    async def store(self, mongodb: str, database: str) -> AsyncIterator[MongoReadStore]:
        store = await MongoReadStore.open(mongodb, database=database, ferretdb=False)
        yield store
        await store.close()


@pytest.mark.parametrize("ferretdb", [True, False])
async def test_racing_first_writes_of_one_document_keep_the_higher_version(
    mongodb: str, database: str, ferretdb: bool
) -> None:
    # Two projector processes inserting the same new document: the loser's upsert fails on
    # the _id index although its version may be the higher one; the retry must resolve it.
    first = await MongoReadStore.open(mongodb, database=database, ferretdb=ferretdb)
    second = await MongoReadStore.open(mongodb, database=database, ferretdb=ferretdb)
    collection = fresh_collection()
    for n in range(25):
        doc_id = f"race-{n}"
        older, newer = customer(doc_id, 1, v="old"), customer(doc_id, 2, v="new")
        pair = [put(first, collection, older), put(second, collection, newer)]
        await asyncio.gather(*(pair if n % 2 else reversed(pair)))
        assert await first.get(collection, doc_id) == newer
    await first.close()
    await second.close()


async def test_a_replay_sized_write_inserts_first_and_keeps_newer_stored_versions(
    mongodb: str, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A write of BULK_WRITE_DOCUMENTS or more inserts before reading versions: what the
    # _id index refuses must still be replaced only when older.
    monkeypatch.setattr(mongo, "BULK_WRITE_DOCUMENTS", 4)
    store = await MongoReadStore.open(mongodb, database=database, ferretdb=True)
    collection = fresh_collection()
    await put(store, collection, customer("a", 2, v="stored"), customer("b", 1, v="stored"))
    batch = [customer("a", 1, v="old"), customer("b", 3, v="new")]
    batch += [customer("c", 1, v="new"), customer("d", 1, v="new")]
    await put(store, collection, *batch)
    found = await store.get_many(collection, ["a", "b", "c", "d"])
    assert {doc_id: (doc["_version"], doc["v"]) for doc_id, doc in found.items()} == {
        "a": (2, "stored"),
        "b": (3, "new"),
        "c": (1, "new"),
        "d": (1, "new"),
    }
    await store.close()


async def test_queried_fields_and_search_terms_are_indexed(mongodb: str, database: str) -> None:
    store = await open_store(mongodb, database)
    collection = fresh_collection()
    await put(store, collection, customer("a", rank=1, segment="retail", search_terms=["anna"]))
    await store.find(collection, Query(prefixes=("an",), equals={"segment": "retail"}, sort="rank"))
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb)
    indexes = await client[database][collection].index_information()
    await client.close()
    keys = {tuple(name for name, _ in index["key"]) for index in indexes.values()}
    wanted = {("search_terms",), ("segment", "_id"), ("rank", "_id"), ("segment", "rank", "_id")}
    assert wanted <= keys, "each field, and the equality filter with the sort"
    await store.close()


async def test_reserved_collections_and_operator_queries_are_refused(
    mongodb: str, database: str
) -> None:
    store = await open_store(mongodb, database)
    with pytest.raises(ValueError):
        await put(store, "checkpoints", customer("a"))
    with pytest.raises(ValueError):
        await store.find(fresh_collection(), Query(equals={"$where": "1"}))
    with pytest.raises(ValueError):
        await store.find(fresh_collection(), Query(equals={"segment": {"$ne": 1}}))  # type: ignore[dict-item]
    await store.close()


def test_only_a_duplicate_key_error_means_a_newer_version_is_stored() -> None:
    assert _refused_index({"n": 3, "nModified": 1, "ok": 1.0}) is None
    duplicate = {"index": 2, "code": 11000, "errmsg": "E11000 duplicate key"}
    assert _refused_index({"ok": 1.0, "writeErrors": [duplicate]}) == 2
    invalid = {"index": 0, "code": 2, "errmsg": "nested arrays are not supported"}
    with pytest.raises(BulkWriteError):
        _refused_index({"ok": 1.0, "writeErrors": [invalid]})
    concern = {"code": 64, "errmsg": "waiting for replication timed out"}
    with pytest.raises(BulkWriteError):
        _refused_index({"n": 1, "ok": 1.0, "writeConcernError": concern})
