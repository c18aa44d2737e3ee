"""The read-store contract, stated once; each adapter's test module subclasses it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from customerhub_shared.readstore import Document, Query, ReadStore
from customerhub_shared.readstore.port import Scalar, encoded


def fresh_collection() -> str:
    # Unique per test: a MongoDB server is shared by every test and every run.
    return f"contract_{uuid.uuid4().hex}_g1"


def fresh_name() -> str:
    return f"contract-{uuid.uuid4().hex}"


def customer(doc_id: str, version: int = 1, **fields: Any) -> Document:
    return {"_id": doc_id, "_version": version, **fields}


async def put(store: ReadStore, collection: str, *documents: Document, position: int = 1) -> None:
    await store.write(collection, list(documents), checkpoint_name=fresh_name(), position=position)


async def ids(store: ReadStore, collection: str, query: Query) -> list[str]:
    return [document["_id"] for document in await store.find(collection, query)]


def in_order(documents: list[Document], sort: str, *, descending: bool = False) -> list[str]:
    """The (sort, _id) order the port promises; a null or missing value sorts first."""

    def key(document: Document) -> tuple[bool, Any, str]:
        value = document.get(sort)
        return value is not None, value, document["_id"]

    return [d["_id"] for d in sorted(documents, key=key, reverse=descending)]


SEARCHABLE = [
    customer("c1", search_terms=["anna", "müller", "berlin"]),
    customer("c2", search_terms=["anne", "meier", "münchen"]),
    customer("c3", search_terms=["bob", "müller", "łódź"]),
    customer("c4", search_terms=["c++", "a.c", "o'neil"]),
    customer("c5", search_terms=[]),
    customer("c6"),
]

FILTERABLE = [
    customer("f1", segment="retail", active=True, labels=["vip", "new"], merged_into=None),
    customer("f2", segment="wholesale", active=True, labels=["new"]),
    customer("f3", segment="retail", active=False, labels=[], merged_into="f1"),
    customer("f4", segment="public", active=True, labels=["vip"]),
    customer("f5", segment=None, active=False),
]

RANKED = [
    customer("r1", rank=2, name="Berg"),
    customer("r2", rank=1, name="Adler"),
    customer("r3", rank=2, name="Adler"),
    customer("r4", rank=None, name="Zeller"),
    customer("r5", rank=3, name="Özdemir"),
    customer("r6", name="adler"),
    customer("r7", rank=1, name="Keller"),
    customer("r8", rank=2, name="Berg"),
]


class ReadStoreContract:
    """Subclasses provide a `store` fixture yielding a ready ReadStore."""

    # --- get / get_many ---------------------------------------------------------------------

    async def test_get_returns_the_written_document(self, store: ReadStore) -> None:
        collection = fresh_collection()
        await put(store, collection, customer("a", 3, name="Anna"))
        assert await store.get(collection, "a") == {"_id": "a", "_version": 3, "name": "Anna"}

    async def test_get_of_a_missing_document_or_collection_is_none(self, store: ReadStore) -> None:
        collection = fresh_collection()
        assert await store.get(collection, "nobody") is None
        await put(store, collection, customer("a"))
        assert await store.get(collection, "nobody") is None

    async def test_get_many_returns_the_stored_documents_by_id_and_omits_missing_ones(
        self, store: ReadStore
    ) -> None:
        collection = fresh_collection()
        assert await store.get_many(fresh_collection(), ["a"]) == {}
        await put(store, collection, customer("a", name="A"), customer("b", name="B"))
        found = await store.get_many(collection, ["b", "missing", "a", "b"])
        assert found == {"a": customer("a", name="A"), "b": customer("b", name="B")}
        assert await store.get_many(collection, []) == {}

    async def test_get_many_reads_hundreds_of_ids_at_once(self, store: ReadStore) -> None:
        collection = fresh_collection()
        documents = [customer(f"c{n:04d}", n=n) for n in range(600)]
        await put(store, collection, *documents)
        found = await store.get_many(collection, [d["_id"] for d in documents])
        assert found == {d["_id"]: d for d in documents}

    async def test_nested_lists_dicts_and_nulls_round_trip_exactly(self, store: ReadStore) -> None:
        collection = fresh_collection()
        document = customer(
            "n",
            7,
            name='Zoë Ł\'Ørsted "quoted" \\ back',
            contacts=[
                {"kind": "email", "value": None, "tags": [], "primary": True},
                {"kind": "phone", "value": "+49 30 1234", "tags": ["work", None], "meta": {}},
            ],
            address={"street": None, "lines": ["a", 1, None], "geo": {"lat": 52.52, "x": []}},
            score=0.1,
            big=2**53 + 1,
            negative=-17,
            empty_text="",
            nothing=None,
            flags=[True, False, 0, 1],
        )
        await put(store, collection, document)
        assert await store.get(collection, "n") == document
        assert await store.get_many(collection, ["n"]) == {"n": document}
        assert await store.find(collection, Query()) == [document]

    async def test_arrays_directly_inside_arrays_round_trip_exactly(self, store: ReadStore) -> None:
        collection = fresh_collection()
        document = customer("m", matrix=[[1, 2], [], [None, ["deep"]]], pairs=[{"p": [[0.5]]}])
        await put(store, collection, document)
        assert await store.get(collection, "m") == document

    # --- write: idempotence and checkpoints -------------------------------------------------

    async def test_a_lower_or_equal_version_does_not_replace_the_document(
        self, store: ReadStore
    ) -> None:
        collection = fresh_collection()
        await put(store, collection, customer("a", 5, name="five"))
        await put(store, collection, customer("a", 5, name="five again"))
        await put(store, collection, customer("a", 4, name="four"))
        assert await store.get(collection, "a") == customer("a", 5, name="five")
        assert await store.count(collection) == 1

    async def test_a_higher_version_replaces_the_whole_document(self, store: ReadStore) -> None:
        collection = fresh_collection()
        await put(store, collection, customer("a", 1, name="one", city="Berlin"))
        await put(store, collection, customer("a", 2, name="two"))
        assert await store.get(collection, "a") == customer("a", 2, name="two")

    async def test_one_batch_mixing_stale_new_and_repeated_documents_keeps_the_highest(
        self, store: ReadStore
    ) -> None:
        collection = fresh_collection()
        await put(store, collection, customer("a", 3, v="a3"), customer("b", 1, v="b1"))
        await put(
            store,
            collection,
            customer("a", 2, v="a2"),
            customer("b", 2, v="b2"),
            customer("c", 4, v="c4"),
            customer("c", 2, v="c2"),
            customer("d", 1, v="d1"),
            customer("d", 2, v="d2"),
        )
        found = await store.get_many(collection, ["a", "b", "c", "d"])
        assert {doc_id: d["v"] for doc_id, d in found.items()} == {
            "a": "a3",
            "b": "b2",
            "c": "c4",
            "d": "d2",
        }

    async def test_search_terms_follow_the_stored_version(self, store: ReadStore) -> None:
        collection = fresh_collection()
        await put(store, collection, customer("a", 2, search_terms=["anna"]))
        await put(store, collection, customer("a", 1, search_terms=["stale"]))
        assert await ids(store, collection, Query(prefixes=("stale",))) == []
        assert await ids(store, collection, Query(prefixes=("anna",))) == ["a"]
        await put(store, collection, customer("a", 3, search_terms=["berta"]))
        assert await ids(store, collection, Query(prefixes=("anna",))) == []
        assert await ids(store, collection, Query(prefixes=("bert",))) == ["a"]

    async def test_the_checkpoint_is_stored_with_the_write(self, store: ReadStore) -> None:
        collection, name = fresh_collection(), fresh_name()
        assert await store.checkpoint(name) is None
        await store.write(collection, [customer("a")], checkpoint_name=name, position=5)
        assert await store.checkpoint(name) == 5
        # A batch of only other projections' events still moves the checkpoint.
        await store.write(collection, [], checkpoint_name=name, position=9)
        assert await store.checkpoint(name) == 9
        # So does a redelivered batch whose documents are all stale.
        await store.write(collection, [customer("a")], checkpoint_name=name, position=12)
        assert await store.checkpoint(name) == 12
        assert await store.checkpoint(fresh_name()) is None

    async def test_a_batch_with_an_invalid_document_writes_nothing(self, store: ReadStore) -> None:
        collection, name = fresh_collection(), fresh_name()
        batch = [customer("a"), {"_id": "b", "name": "no version"}]
        with pytest.raises(ValueError):
            await store.write(collection, batch, checkpoint_name=name, position=3)
        assert await store.get(collection, "a") is None
        assert await store.checkpoint(name) is None

    async def test_a_document_written_encoded_reads_back_as_written_plainly(
        self, store: ReadStore
    ) -> None:
        collection, name = fresh_collection(), fresh_name()
        document = customer(
            "e", 2, name="Élodie", nested={"list": [1, 2.5, None, True]}, search_terms=["elodie"]
        )
        await store.write_encoded(collection, [encoded(document)], checkpoint_name=name, position=4)
        assert await store.get(collection, "e") == document
        assert await ids(store, collection, Query(prefixes=("elo",))) == ["e"]
        assert await store.checkpoint(name) == 4

    async def test_an_encoded_write_keeps_a_stored_version_as_new(self, store: ReadStore) -> None:
        collection, name = fresh_collection(), fresh_name()
        await put(store, collection, customer("a", 3, v="a3", search_terms=["kept"]))
        stale = [encoded(customer("a", 3, v="stale", search_terms=["stale"]))]
        await store.write_encoded(collection, stale, checkpoint_name=name, position=7)
        assert (await store.get(collection, "a") or {})["v"] == "a3"
        assert await ids(store, collection, Query(prefixes=("stale",))) == []
        newer = [encoded(customer("a", 4, v="a4", search_terms=["newer"]))]
        await store.write_encoded(collection, newer, checkpoint_name=name, position=8)
        assert (await store.get(collection, "a") or {})["v"] == "a4"
        assert await ids(store, collection, Query(prefixes=("kept",))) == []
        assert await ids(store, collection, Query(prefixes=("newer",))) == ["a"]

    def test_a_document_without_a_version_cannot_be_encoded(self) -> None:
        with pytest.raises(ValueError):
            encoded({"_id": "b", "name": "no version"})

    # --- find --------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("prefixes", "expected"),
        [
            (("mü",), ["c1", "c2", "c3"]),
            (("mül",), ["c1", "c3"]),
            (("ann",), ["c1", "c2"]),
            (("anna",), ["c1"]),
            (("mü", "an"), ["c1", "c2"]),
            (("mül", "an"), ["c1"]),
            (("an", "mü", "be"), ["c1"]),
            (("müller", "bob"), ["c3"]),
            (("annamüller",), []),
            (("anna", "bob"), []),
            (("łó",), ["c3"]),
            (("mu",), []),
            (("Anna",), []),
            (("nna",), []),
            (("c+",), ["c4"]),
            (("a.",), ["c4"]),
            (("a.b",), []),
            (("o'",), ["c4"]),
            (("zz",), []),
        ],
    )
    async def test_every_prefix_must_start_some_search_term(
        self, store: ReadStore, prefixes: tuple[str, ...], expected: list[str]
    ) -> None:
        collection = fresh_collection()
        await put(store, collection, *SEARCHABLE, customer("x", search_terms=["abc"]))
        assert await ids(store, collection, Query(prefixes=prefixes)) == expected

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            (Query(equals={"segment": "retail"}), ["f1", "f3"]),
            (Query(equals={"segment": "retail", "active": True}), ["f1"]),
            (Query(equals={"active": False}), ["f3", "f5"]),
            (Query(equals={"merged_into": None}), ["f1", "f2", "f4", "f5"]),
            (Query(equals={"segment": None}), ["f5"]),
            (Query(equals={"_id": "f2"}), ["f2"]),
            (Query(equals={"segment": "nobody"}), []),
            (Query(contains={"labels": "vip"}), ["f1", "f4"]),
            (Query(contains={"labels": "new"}, equals={"segment": "retail"}), ["f1"]),
            (Query(contains={"labels": "old"}), []),
            (Query(any_of={"segment": ["retail", "public"]}), ["f1", "f3", "f4"]),
            (Query(any_of={"labels": ["new", "vip"]}), ["f1", "f2", "f4"]),
            (Query(any_of={"labels": ["new"], "segment": ["retail"]}), ["f1"]),
            (Query(any_of={"segment": []}), []),
            (Query(any_of={"_id": ["f3", "f5", "zz"]}), ["f3", "f5"]),
            (
                Query(equals={"active": True}, contains={"labels": "new"}, any_of={"segment": []}),
                [],
            ),
            (
                Query(equals={"active": True}, any_of={"labels": ["vip", "new"]}, limit=2),
                ["f1", "f2"],
            ),
        ],
    )
    async def test_filters_are_anded(
        self, store: ReadStore, query: Query, expected: list[str]
    ) -> None:
        collection = fresh_collection()
        await put(store, collection, *FILTERABLE)
        assert await ids(store, collection, query) == expected

    async def test_queries_found_together_answer_each_as_alone(self, store: ReadStore) -> None:
        collection = fresh_collection()
        await put(store, collection, *FILTERABLE)
        queries = [
            Query(equals={"segment": "retail"}),
            Query(contains={"labels": "vip"}, fields=("labels",)),
            Query(equals={"segment": "nobody"}),
            Query(any_of={"_id": ["f3", "f5", "zz"]}, limit=1),
        ]
        together = await store.find_each(collection, queries)
        assert together == [await store.find(collection, query) for query in queries]
        assert [[d["_id"] for d in found] for found in together] == [
            ["f1", "f3"],
            ["f1", "f4"],
            [],
            ["f3"],
        ]
        assert await store.find_each(fresh_collection(), queries[:1]) == [[]]

    async def test_a_query_with_fields_returns_those_fields_alone_with_their_types(
        self, store: ReadStore
    ) -> None:
        collection = fresh_collection()
        whole = customer(
            "p1",
            name="Ada",
            active=True,
            rank=3,
            labels=["vip", 7],
            address={"city": "Paris"},
            note="not asked for",
            segment=None,
        )
        await put(store, collection, whole, customer("p2", name="Bob", rank=1))
        query = Query(
            fields=("name", "active", "rank", "labels", "address", "segment", "missing"),
            sort="rank",
        )
        found = await store.find(collection, query)
        assert [document["_id"] for document in found] == ["p2", "p1"]
        shown = {name: value for name, value in found[1].items() if value is not None}
        assert shown == {
            "_id": "p1",
            "name": "Ada",
            "active": True,
            "rank": 3,
            "labels": ["vip", 7],
            "address": {"city": "Paris"},
        }
        assert found[0].get("active") is None and found[0]["name"] == "Bob"

    async def test_prefixes_and_filters_combine(self, store: ReadStore) -> None:
        collection = fresh_collection()
        await put(
            store,
            collection,
            customer("a", segment="retail", search_terms=["anna"]),
            customer("b", segment="public", search_terms=["anne"]),
            customer("c", segment="retail", search_terms=["bert"]),
        )
        query = Query(prefixes=("an",), equals={"segment": "retail"})
        assert await ids(store, collection, query) == ["a"]

    @pytest.mark.parametrize("descending", [False, True])
    @pytest.mark.parametrize("sort", ["rank", "name", "_id"])
    async def test_results_are_sorted_with_ties_broken_by_id(
        self, store: ReadStore, sort: str, descending: bool
    ) -> None:
        collection = fresh_collection()
        await put(store, collection, *reversed(RANKED))
        found = await ids(store, collection, Query(sort=sort, descending=descending))
        assert found == in_order(RANKED, sort, descending=descending)

    async def test_sort_ascending_puts_ties_in_id_order(self, store: ReadStore) -> None:
        collection = fresh_collection()
        await put(store, collection, *RANKED)
        found = await ids(store, collection, Query(sort="rank"))
        assert found == ["r4", "r6", "r2", "r7", "r1", "r3", "r8", "r5"]
        found = await ids(store, collection, Query(sort="rank", descending=True))
        assert found == ["r5", "r8", "r3", "r1", "r7", "r2", "r6", "r4"]

    @pytest.mark.parametrize("descending", [False, True])
    @pytest.mark.parametrize("sort", ["rank", "name", "_id"])
    async def test_keyset_pages_return_every_document_exactly_once(
        self, store: ReadStore, sort: str, descending: bool
    ) -> None:
        collection = fresh_collection()
        await put(store, collection, *RANKED)
        pages: list[list[Document]] = []
        after: tuple[Scalar, str] | None = None
        while len(pages) < 5:
            query = Query(sort=sort, descending=descending, after=after, limit=3)
            page = await store.find(collection, query)
            if not page:
                break
            pages.append(page)
            after = (page[-1].get(sort), page[-1]["_id"])
        assert [len(page) for page in pages] == [3, 3, 2]
        seen = [document["_id"] for page in pages for document in page]
        assert seen == in_order(RANKED, sort, descending=descending)

    async def test_keyset_pages_respect_the_filters(self, store: ReadStore) -> None:
        collection = fresh_collection()
        documents = [
            customer(f"p{n:02d}", rank=n % 4, segment="retail" if n % 3 else "public")
            for n in range(20)
        ]
        await put(store, collection, *documents)
        retail = [d for d in documents if d["segment"] == "retail"]
        seen: list[str] = []
        after: tuple[Scalar, str] | None = None
        for _ in range(10):
            query = Query(equals={"segment": "retail"}, sort="rank", after=after, limit=4)
            page = await store.find(collection, query)
            if not page:
                break
            seen += [d["_id"] for d in page]
            after = (page[-1]["rank"], page[-1]["_id"])
        assert seen == in_order(retail, "rank")

    async def test_limit_caps_the_results(self, store: ReadStore) -> None:
        collection = fresh_collection()
        await put(store, collection, *RANKED)
        assert await ids(store, collection, Query(limit=2)) == ["r1", "r2"]
        assert await ids(store, collection, Query(sort="rank", descending=True, limit=1)) == ["r5"]
        assert len(await store.find(collection, Query(limit=100))) == len(RANKED)

    async def test_find_on_a_missing_collection_is_empty(self, store: ReadStore) -> None:
        query = Query(prefixes=("a",), equals={"segment": "x"}, sort="rank")
        assert await store.find(fresh_collection(), query) == []

    # --- count / drop ------------------------------------------------------------------------

    async def test_count_is_the_number_of_documents(self, store: ReadStore) -> None:
        collection = fresh_collection()
        assert await store.count(collection) == 0
        await put(store, collection, *RANKED)
        await put(store, collection, customer("r1", 2), customer("new"))
        assert await store.count(collection) == len(RANKED) + 1

    async def test_drop_removes_the_collection_and_its_search_terms(self, store: ReadStore) -> None:
        collection, other = fresh_collection(), fresh_collection()
        await put(store, collection, *SEARCHABLE)
        await put(store, other, *SEARCHABLE)
        await store.drop(collection)
        assert await store.count(collection) == 0
        assert await store.get(collection, "c1") is None
        assert await store.find(collection, Query(prefixes=("anna",))) == []
        assert await ids(store, other, Query(prefixes=("anna",))) == ["c1"]
        # A dropped collection starts afresh: old versions and old terms are gone.
        await put(store, collection, customer("c1", 1, search_terms=["zora"]))
        assert await store.get(collection, "c1") == customer("c1", 1, search_terms=["zora"])
        assert await ids(store, collection, Query(prefixes=("anna",))) == []
        assert await ids(store, collection, Query(prefixes=("zo",))) == ["c1"]
        await store.drop(fresh_collection())  # dropping what never existed is fine

    # --- generations -------------------------------------------------------------------------

    async def test_generations_default_to_one_active_and_none_building(
        self, store: ReadStore
    ) -> None:
        assert await store.generations(fresh_name()) == (1, None)

    async def test_generations_are_recorded_per_projection(self, store: ReadStore) -> None:
        projection, other = fresh_name(), fresh_name()
        await store.set_generations(projection, 1, 2)
        assert await store.generations(projection) == (1, 2)
        await store.set_generations(projection, 2, None)
        assert await store.generations(projection) == (2, None)
        await store.set_generations(projection, 2, 3)
        assert await store.generations(projection) == (2, 3)
        assert await store.generations(other) == (1, None)
