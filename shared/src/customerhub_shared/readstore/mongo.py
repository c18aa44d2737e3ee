"""The MongoDB read store: the distributed read models (also runs on FerretDB, no transactions).

Documents are replaced only by a higher `_version` (a conditional upsert), so a batch
redelivered after a crash between the documents and the checkpoint is harmless.
FerretDB 1.x stores no array directly inside an array; such a write is refused.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import bson
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from customerhub_shared.readstore.port import Document, Query, ReadStore, Scalar, checked

CHECKPOINTS = "checkpoints"
GENERATIONS = "projection_generations"
_DUPLICATE_KEY = 11000
# FerretDB 1.24 deadlocks a database on one update command of 100+ matching updates
# (deploy/ferretdb/README.md); 50 keeps well clear and costs real MongoDB little.
_BATCH_COUNT = 50
# Inserts hold no cursor open (only updates that match do): a replay's new documents go in
# far fewer, larger commands.
_INSERT_COUNT = 1000
# A write of this many documents (a replay's chunk, mostly new documents) inserts them all
# first, and reads stored versions only for those the `_id` index refused.
BULK_WRITE_DOCUMENTS = 1000
_BATCH_BYTES = 8 * 1024 * 1024
# Top-level fields only: a dot would reach into sub-documents and a `$` would be an operator.
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SCALARS = (str, int, float, bool, type(None))

Filter = dict[str, Any]


IndexKeys = list[tuple[str, int]]
SEARCH_TERMS_INDEX: IndexKeys = [("search_terms", ASCENDING)]


def _field(name: str) -> str:
    if not _FIELD.match(name):
        raise ValueError(f"invalid field name {name!r}: want a top-level [A-Za-z_][A-Za-z0-9_]*")
    return name


def _scalar(value: object) -> Scalar:
    # A dict here would be read as an operator document ({"$ne": ...}), not a value.
    if not isinstance(value, _SCALARS):
        raise ValueError(f"a query value must be a scalar, not {type(value).__name__}")
    return value


class MongoReadStore(ReadStore):
    def __init__(
        self, client: AsyncMongoClient[Document], database: str, *, ferretdb: bool = False
    ) -> None:
        self._client = client
        self._db = client[database]
        # FerretDB 1.x uses its `_id` index only for a filter that is exactly {_id: <str>}
        # (deploy/ferretdb/README.md): anything else reads the whole collection.
        self._by_single_id = ferretdb
        # (collection, field) pairs this process has asked MongoDB to index.
        self._indexed: set[tuple[str, str]] = set()

    @classmethod
    async def open(
        cls, url: str, database: str = "customerhub", *, ferretdb: bool | None = None
    ) -> MongoReadStore:
        """`ferretdb`: use FerretDB's write path; None asks the server what it is."""
        client: AsyncMongoClient[Document] = AsyncMongoClient(url)
        try:
            await client.admin.command("ping")  # fail here rather than at the first query
            build = await client.admin.command("buildInfo")
        except BaseException:
            await client.close()
            raise
        if ferretdb is None:
            ferretdb = "ferretdbVersion" in build
        return cls(client, database, ferretdb=ferretdb)

    def _collection(self, name: str) -> AsyncCollection[Document]:
        if name in (CHECKPOINTS, GENERATIONS):
            raise ValueError(f"{name!r} is reserved for the read store's own bookkeeping")
        return self._db[name]

    async def _ensure_indexes(self, collection: str, indexes: Mapping[str, IndexKeys]) -> None:
        """Create each index once per process (create_index is idempotent, so other processes
        doing the same is harmless)."""
        for name, keys in indexes.items():
            if (collection, name) in self._indexed:
                continue
            await self._collection(collection).create_index(keys)
            self._indexed.add((collection, name))

    async def get(self, collection: str, doc_id: str) -> Document | None:
        return await self._collection(collection).find_one({"_id": doc_id})

    async def get_many(self, collection: str, doc_ids: Sequence[str]) -> dict[str, Document]:
        if not doc_ids:
            return {}
        if self._by_single_id:
            return await _get_one_by_one(self._collection(collection), list(set(doc_ids)))
        cursor = self._collection(collection).find({"_id": {"$in": list(set(doc_ids))}})
        return {document["_id"]: document async for document in cursor}

    async def find(self, collection: str, query: Query) -> list[Document]:
        if query.limit <= 0:
            return []  # MongoDB reads a limit of 0 as "no limit"
        conditions = _conditions(query)
        await self._ensure_indexes(collection, _indexes_for(query))
        direction = DESCENDING if query.descending else ASCENDING
        order = [("_id", direction)]
        if query.sort != "_id":
            order.insert(0, (query.sort, direction))
        cursor = (
            self._collection(collection)
            .find(
                {"$and": conditions} if conditions else {},
                dict.fromkeys(map(_field, query.fields), 1) if query.fields else None,
            )
            .sort(order)
            .limit(query.limit)
        )
        return await cursor.to_list()

    async def count(self, collection: str) -> int:
        return await self._collection(collection).count_documents({})

    async def write(
        self,
        collection: str,
        documents: Sequence[Document],
        *,
        checkpoint_name: str,
        position: int,
    ) -> None:
        latest = _latest(documents)
        if latest:
            await self._ensure_indexes(collection, {"search_terms": SEARCH_TERMS_INDEX})
            if self._by_single_id:
                await _replace_older_by_id(self._collection(collection), latest)
            else:
                await _replace_older(self._collection(collection), latest)
        # After the documents: no transaction, but redelivering them is harmless.
        await self._db[CHECKPOINTS].update_one(
            {"_id": checkpoint_name}, {"$set": {"position": position}}, upsert=True
        )

    async def checkpoint(self, checkpoint_name: str) -> int | None:
        stored = await self._db[CHECKPOINTS].find_one({"_id": checkpoint_name})
        return None if stored is None else int(stored["position"])

    async def drop(self, collection: str) -> None:
        await self._collection(collection).drop()
        self._indexed = {pair for pair in self._indexed if pair[0] != collection}

    async def generations(self, projection: str) -> tuple[int, int | None]:
        stored = await self._db[GENERATIONS].find_one({"_id": projection})
        if stored is None:
            return 1, None
        building = stored.get("building")
        return int(stored["active"]), None if building is None else int(building)

    async def set_generations(self, projection: str, active: int, building: int | None) -> None:
        # One document per projection: a single-document update is atomic without transactions.
        await self._db[GENERATIONS].update_one(
            {"_id": projection}, {"$set": {"active": active, "building": building}}, upsert=True
        )

    async def erase_replaced(self) -> None:
        """Nothing a client can ask for: the server's storage engine decides when replaced
        document versions leave its files (README, "What anonymising erases where")."""

    async def close(self) -> None:
        await self._client.close()


def _latest(documents: Sequence[Document]) -> list[Document]:
    """Check every document, then keep one per `_id`: the first with the highest `_version`.

    The server would refuse the others anyway; keeping the first of equal versions is what
    writing them one after the other would do.
    """
    latest: dict[str, Document] = {}
    for document in documents:
        doc_id, version, _ = checked(document)
        kept = latest.get(doc_id)
        if kept is None or version > kept["_version"]:
            latest[doc_id] = document
    return list(latest.values())


async def _get_one_by_one(
    collection: AsyncCollection[Document], doc_ids: list[str], *, fields: Document | None = None
) -> dict[str, Document]:
    found: dict[str, Document] = {}
    for start in range(0, len(doc_ids), _BATCH_COUNT):
        chunk = doc_ids[start : start + _BATCH_COUNT]
        answers = await asyncio.gather(
            *(collection.find_one({"_id": doc_id}, fields) for doc_id in chunk)
        )
        found.update((doc_id, doc) for doc_id, doc in zip(chunk, answers, strict=True) if doc)
    return found


async def _replace_older_by_id(
    collection: AsyncCollection[Document], documents: list[Document]
) -> None:
    """FerretDB's way to `_replace_older`, using only indexed `{_id}` filters: read the stored
    versions; insert the new documents (a racing first insert fails on the `_id` index, and
    those go the guarded way); replace by `_id` the stored ones that are older. That replace
    is a read-then-write, but so is any FerretDB 1.x update (README: not atomic), guarded or not.
    A write of a replay's size inserts first and reads versions only for what was refused.
    """
    if len(documents) >= BULK_WRITE_DOCUMENTS:
        documents = await _insert_new(collection, documents)
        if not documents:
            return
    ids = [document["_id"] for document in documents]
    stored = await _get_one_by_one(collection, ids, fields={"_version": 1})
    new = [document for document in documents if document["_id"] not in stored]
    older = [
        document
        for document in documents
        if document["_id"] in stored and stored[document["_id"]]["_version"] < document["_version"]
    ]
    raced = await _insert_new(collection, new)
    for batch in _batches(older):
        updates = [{"q": {"_id": doc["_id"]}, "u": doc, "upsert": True} for doc in batch]
        reply = await collection.database.command(
            {"update": collection.name, "updates": updates, "ordered": True}
        )
        _duplicates(reply, batch)  # raises on any error: an `_id` upsert has no duplicate
    if raced:
        await _replace_older(collection, raced)


async def _insert_new(
    collection: AsyncCollection[Document], documents: list[Document]
) -> list[Document]:
    """Insert the documents; those whose `_id` is stored already are returned, not written."""
    refused: list[Document] = []
    for batch in _batches(documents, count=_INSERT_COUNT):
        reply = await collection.database.command(
            {"insert": collection.name, "documents": batch, "ordered": False}
        )
        refused += _duplicates(reply, batch)
    return refused


def _duplicates(reply: Mapping[str, Any], batch: list[Document]) -> list[Document]:
    """The documents a write refused as duplicate `_id`s; any other error is raised."""
    errors = reply.get("writeErrors", [])
    concern = [reply["writeConcernError"]] if "writeConcernError" in reply else []
    if concern or any(error.get("code") != _DUPLICATE_KEY for error in errors):
        raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": concern})
    return [batch[int(error["index"])] for error in errors]


async def _replace_older(collection: AsyncCollection[Document], documents: list[Document]) -> None:
    """Upsert each document unless the stored one has the same or a higher `_version`.

    When the stored version is not lower the filter matches nothing, so the upsert tries to
    insert and fails on the `_id` index (E11000): that error means "keep the stored one".
    It can also mean two first inserts of one `_id` raced; one retry of those tells them apart
    (the document exists by then, so the retry either replaces it or fails for the first reason).
    """
    refused: list[Document] = []
    for batch in _batches(documents):
        refused += await _upsert_newer(collection, batch)
    if refused:
        await _upsert_newer(collection, refused)


async def _upsert_newer(
    collection: AsyncCollection[Document], batch: list[Document]
) -> list[Document]:
    """Send ordered `update` commands until the whole batch is done; return the refused ones.

    The command is what `bulk_write([ReplaceOne(...)])` sends, written out because FerretDB
    1.x answers a write error without `n`/`nModified` (PyMongo's bulk result merge then fails
    with KeyError) and stops an unordered batch at its first error without saying so. Ordered,
    both servers stop at the first error and report it: we resume after it.
    """
    refused: list[Document] = []
    while batch:
        reply = await collection.database.command(
            {
                "update": collection.name,
                "updates": [
                    {
                        "q": {"_id": document["_id"], "_version": {"$lt": document["_version"]}},
                        "u": document,
                        "upsert": True,
                    }
                    for document in batch
                ],
                "ordered": True,
            }
        )
        stopped_at = _refused_index(reply)
        if stopped_at is None:
            break
        refused.append(batch[stopped_at])
        batch = batch[stopped_at + 1 :]
    return refused


def _refused_index(reply: Mapping[str, Any]) -> int | None:
    """Where an ordered update stopped on a duplicate `_id`; None if it did every update.

    Any other write error, or a write-concern error, is raised as a BulkWriteError.
    """
    errors = reply.get("writeErrors", [])
    concern = [reply["writeConcernError"]] if "writeConcernError" in reply else []
    if concern or any(error.get("code") != _DUPLICATE_KEY for error in errors):
        raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": concern})
    return int(errors[0]["index"]) if errors else None


def _batches(documents: list[Document], *, count: int = _BATCH_COUNT) -> Iterator[list[Document]]:
    """Split so that each command stays well under MongoDB's 16 MiB document limit."""
    batch: list[Document] = []
    size = 0
    for document in documents:
        encoded = len(bson.encode(document))
        if batch and (len(batch) == count or size + encoded > _BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(document)
        size += encoded
    if batch:
        yield batch


def _indexes_for(query: Query) -> dict[str, IndexKeys]:
    """Index name -> keys, for what the query filters and sorts on: (field, _id) serves the
    (field, _id) sort both ways; each equality filter with the sort (equality, then sort)
    makes a filtered page one index range."""
    sort = _field(query.sort)
    fields = {sort, *query.equals, *query.contains, *query.any_of} - {"_id"}
    indexes = {name: [(_field(name), ASCENDING), ("_id", ASCENDING)] for name in fields}
    if query.prefixes:
        indexes["search_terms"] = SEARCH_TERMS_INDEX
    if sort != "_id":
        for name in set(query.equals) - {"_id", sort}:
            keys = [(_field(name), ASCENDING), (sort, ASCENDING), ("_id", ASCENDING)]
            indexes[f"{name}+{sort}"] = keys
    return indexes


def _conditions(query: Query) -> list[Filter]:
    conditions: list[Filter] = [
        # Anchored and case-sensitive, so MongoDB reads it as a range on the terms index.
        {"search_terms": {"$regex": "^" + re.escape(prefix)}}
        for prefix in query.prefixes
    ]
    conditions += [{_field(name): _scalar(value)} for name, value in query.equals.items()]
    conditions += [{_field(name): _scalar(value)} for name, value in query.contains.items()]
    conditions += [
        {_field(name): {"$in": [_scalar(value) for value in values]}}
        for name, values in query.any_of.items()
    ]
    if query.after is not None:
        conditions.append(_after(_field(query.sort), query.after, descending=query.descending))
    return conditions


def _after(sort: str, after: tuple[Scalar, str], *, descending: bool) -> Filter:
    """Documents strictly after (value, _id) in (sort, _id) order.

    Null and missing sort lowest: first ascending, last descending. `$gt`/`$lt` never match
    null, so the nulls are added or matched by equality explicitly.
    """
    value, doc_id = _scalar(after[0]), after[1]
    op = "$lt" if descending else "$gt"
    if sort == "_id":
        return {"_id": {op: doc_id}}
    if value is None:
        tie: Filter = {sort: None, "_id": {op: doc_id}}
        return tie if descending else {"$or": [tie, {sort: {"$ne": None}}]}
    later: list[Filter] = [{sort: {op: value}}, {sort: value, "_id": {op: doc_id}}]
    if descending:
        later.append({sort: None})
    return {"$or": later}
