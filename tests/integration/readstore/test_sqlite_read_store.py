"""The read-store contract on SQLite, plus what only a shared file can show."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from customerhub_shared.readstore import Query
from customerhub_shared.readstore.port import encoded
from customerhub_shared.readstore.sqlite import SQLiteReadStore, _find_statements
from tests.integration.readstore.contract import (
    ReadStoreContract,
    customer,
    fresh_collection,
    fresh_name,
    put,
)

REPO = Path(__file__).resolve().parents[3]


class TestSQLiteReadStore(ReadStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
        store = await SQLiteReadStore.open(tmp_path / "read.db")
        yield store
        await store.close()


class TestSQLiteReadStoreWalkingEveryPrefix(ReadStoreContract):
    """The same contract when every search prefix counts as common: checked on each document
    met in sort order rather than collected first."""

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
        store = await SQLiteReadStore.open(tmp_path / "read.db", common_prefix_terms=0)
        yield store
        await store.close()


class TestSQLiteReadStoreLookingUpValues(ReadStoreContract):
    """The same contract when `contains` on the fields it uses is an index lookup."""

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
        fields = ("labels", "roles", "emails", "tags")
        store = await SQLiteReadStore.open(tmp_path / "read.db", value_indexed=fields)
        yield store
        await store.close()


async def test_values_stored_before_the_first_lookup_are_found_and_follow_rewrites(
    tmp_path: Path,
) -> None:
    path = tmp_path / "read.db"
    first = await SQLiteReadStore.open(path)  # knows nothing of value lookups
    collection = fresh_collection()
    await put(first, collection, customer("a", emails=["ada@example.com", "x@example.com"]))
    await put(first, collection, customer("b", emails="ada@example.com"), customer("c"))
    store = await SQLiteReadStore.open(path, value_indexed=("emails",))
    by_email = Query(contains={"emails": "ada@example.com"})
    assert [d["_id"] for d in await store.find(collection, by_email)] == ["a", "b"]

    await put(store, collection, customer("a", 2, emails=["x@example.com"]))
    await put(first, collection, customer("c", 2, emails=["ada@example.com"]))  # another writer
    assert [d["_id"] for d in await store.find(collection, by_email)] == ["b", "c"]
    await first.close()
    await store.close()


async def test_an_encoded_write_keeps_the_looked_up_values_of_its_documents(
    tmp_path: Path,
) -> None:
    store = await SQLiteReadStore.open(tmp_path / "read.db", value_indexed=("emails",))
    collection = fresh_collection()
    by_email = Query(contains={"emails": "ada@example.com"})
    await put(store, collection, customer("a", emails=["old@example.com"]))
    assert await store.find(collection, by_email) == []  # registers the field's values
    rewritten = encoded(customer("a", 2, emails=["ada@example.com"]))
    await store.write_encoded(collection, [rewritten], checkpoint_name="p", position=2)
    assert [d["_id"] for d in await store.find(collection, by_email)] == ["a"]
    old = Query(contains={"emails": "old@example.com"})
    assert await store.find(collection, old) == []
    await store.close()


async def test_a_value_lookup_reads_the_index_not_every_document(tmp_path: Path) -> None:
    path = tmp_path / "read.db"
    store = await SQLiteReadStore.open(path, value_indexed=("emails",))
    collection = fresh_collection()
    await put(store, collection, customer("a", emails=["ada@example.com"], status="active"))
    query = Query(contains={"emails": "ada@example.com"}, any_of={"status": ("active",)})
    assert [d["_id"] for d in await store.find(collection, query)] == ["a"]
    await store.close()
    [(sql, params)] = _find_statements(
        f'"docs_{collection}"', collection, query, looked_up={"emails"}
    )
    db = sqlite3.connect(path)
    plan = " / ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", [*params, 20]))
    db.close()
    assert "'$.emails'" not in sql
    assert "SCAN d" not in plan, plan


async def test_a_dropped_collection_leaves_no_values_behind(tmp_path: Path) -> None:
    path = tmp_path / "read.db"
    store = await SQLiteReadStore.open(path, value_indexed=("emails",))
    collection = fresh_collection()
    await put(store, collection, customer("a", emails=["ada@example.com"]))
    await store.find(collection, Query(contains={"emails": "ada@example.com"}))
    await store.drop(collection)
    await store.close()
    db = sqlite3.connect(path)
    left = db.execute("SELECT count(*) FROM search_terms WHERE term LIKE '%ada@%'").fetchone()
    db.close()
    assert left == (0,)


async def test_a_common_and_a_rare_prefix_together_find_what_both_start(tmp_path: Path) -> None:
    # "an" starts 7 terms (common at 4), "zo" 3 (rare): one walked, one collected.
    store = await SQLiteReadStore.open(tmp_path / "read.db", common_prefix_terms=4)
    collection = fresh_collection()
    annas = [customer(f"a{n}", rank=n, search_terms=["anna", f"n{n}"]) for n in range(6)]
    zoes = [
        customer("z", rank=9, search_terms=["zoe", "anton"]),
        customer("y", rank=8, search_terms=["zoran"]),
    ]
    await put(store, collection, *annas, *zoes)
    await put(store, collection, customer("a2", 2, rank=2, search_terms=["anna", "zola"]))
    query = Query(prefixes=("an", "zo"), sort="rank", descending=True)
    assert [d["_id"] for d in await store.find(collection, query)] == ["z", "a2"]
    paged = Query(prefixes=("an", "zo"), sort="rank", descending=True, after=(9, "z"), limit=1)
    assert [d["_id"] for d in await store.find(collection, paged)] == ["a2"]
    await store.close()


@pytest.fixture
async def two_stores(tmp_path: Path) -> AsyncIterator[tuple[SQLiteReadStore, SQLiteReadStore]]:
    first = await SQLiteReadStore.open(tmp_path / "read.db")
    second = await SQLiteReadStore.open(tmp_path / "read.db")
    yield first, second
    await first.close()
    await second.close()


async def test_a_second_store_on_the_file_sees_documents_checkpoints_and_generations(
    two_stores: tuple[SQLiteReadStore, SQLiteReadStore],
) -> None:
    server, replay = two_stores
    collection, name, projection = fresh_collection(), fresh_name(), fresh_name()
    await replay.write(
        collection, [customer("a", search_terms=["anna"])], checkpoint_name=name, position=4
    )
    await replay.set_generations(projection, 1, 2)
    assert await server.get(collection, "a") == customer("a", search_terms=["anna"])
    assert [d["_id"] for d in await server.find(collection, Query(prefixes=("an",)))] == ["a"]
    assert await server.checkpoint(name) == 4
    assert await server.generations(projection) == (1, 2)


async def test_a_collection_dropped_by_another_store_reads_empty_and_can_be_rebuilt(
    two_stores: tuple[SQLiteReadStore, SQLiteReadStore],
) -> None:
    server, replay = two_stores
    collection = fresh_collection()
    await put(server, collection, customer("a", 2, rank=1))
    assert len(await server.find(collection, Query(sort="rank"))) == 1
    await replay.drop(collection)
    assert await server.find(collection, Query(sort="rank")) == []
    assert await server.get(collection, "a") is None
    assert await server.get_many(collection, ["a"]) == {}
    assert await server.count(collection) == 0
    await put(server, collection, customer("a", 1, rank=1))
    assert await server.get(collection, "a") == customer("a", 1, rank=1)


WRITER = """
import asyncio, sys
from customerhub_shared.readstore.sqlite import SQLiteReadStore, _find_statements

async def main(path: str, collection: str, batches: int) -> None:
    store = await SQLiteReadStore.open(path)
    for n in range(batches):
        doc = {"_id": f"other-{n}", "_version": 1, "search_terms": [f"other{n}"]}
        await store.write(collection, [doc], checkpoint_name="other", position=n)
    await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_two_processes_write_one_file_at_once(tmp_path: Path) -> None:
    path, collection, batches = tmp_path / "read.db", fresh_collection(), 150
    store = await SQLiteReadStore.open(path)
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(path),
        collection,
        str(batches),
        cwd=REPO,
        stderr=subprocess.PIPE,
    )
    for n in range(batches):
        doc = customer(f"mine-{n}", search_terms=[f"mine{n}"])
        await store.write(collection, [doc], checkpoint_name="mine", position=n)
    _, stderr = await other.communicate()
    assert other.returncode == 0, stderr.decode()
    assert await store.count(collection) == 2 * batches
    assert await store.checkpoint("mine") == batches - 1
    assert await store.checkpoint("other") == batches - 1
    found = await store.find(collection, Query(prefixes=("other",), limit=1000))
    assert len(found) == batches
    await store.close()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (Query(sort="rank"), "rank"),
        (Query(sort="rank", after=(2, "r1")), "rank"),
        (Query(sort="rank", descending=True, after=(2, "r1")), "rank"),
        (Query(sort="rank", after=(None, "r1")), "rank"),
        (Query(sort="rank", descending=True, after=(None, "r1")), "rank"),
        (Query(equals={"segment": "retail"}), "segment"),
    ],
)
async def test_sorted_pages_and_equality_are_read_along_an_expression_index(
    tmp_path: Path, query: Query, field: str
) -> None:
    path, collection = tmp_path / "read.db", fresh_collection()
    store = await SQLiteReadStore.open(path)
    await put(store, collection, customer("a", rank=1, segment="retail"))
    await store.find(collection, query)  # creates the indexes it needs
    await store.close()
    db = sqlite3.connect(path)
    for sql, params in _find_statements(f'"docs_{collection}"', collection, query):
        plan = [str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", [*params, 3])]
        assert any(f"ix_{collection}_{field}" in step for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
    db.close()


async def test_names_that_are_not_plain_identifiers_are_refused(tmp_path: Path) -> None:
    store = await SQLiteReadStore.open(tmp_path / "read.db")
    with pytest.raises(ValueError):
        await store.get('customers"; DROP TABLE checkpoints; --', "a")
    with pytest.raises(ValueError):
        await store.find(fresh_collection(), Query(sort="name') --"))
    with pytest.raises(ValueError):
        await store.find(fresh_collection(), Query(equals={"a.b": 1}))
    await store.close()
