"""The read-store port: disposable JSON documents that projectors build and queries read.

Every document has `_id` (str) and `_version` (the count of its stream's events applied),
so writes are idempotent: a document is only replaced by one with a higher `_version`.
A projector's checkpoint is written with its documents: in one transaction where the
store has them (SQLite), else after them (MongoDB), which idempotent writes make safe.
Collections are named per generation (`customers_g3`), so a replay builds a new
generation while the active one keeps serving, then `activate` switches atomically.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

Document = dict[str, Any]
Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class EncodedDocument:
    """A document already serialised, with what a store indexes of it: a rebuild's worker
    processes send these, so the replay process neither parses nor serialises the body
    again."""

    id: str
    version: int
    body: bytes
    search_terms: list[str]  # distinct, in the document's order

    def document(self) -> Document:
        document: Document = orjson.loads(self.body)
        return document


def checked(document: Document) -> tuple[str, int, list[str]]:
    """The document's `_id`, `_version` and `search_terms`; ValueError without a str `_id`,
    an int `_version` or `search_terms` as a list of str."""
    doc_id, version = document.get("_id"), document.get("_version")
    if not isinstance(doc_id, str) or not isinstance(version, int) or isinstance(version, bool):
        raise ValueError("a read-store document needs a str `_id` and an int `_version`")
    terms = document.get("search_terms", [])
    if not isinstance(terms, list) or not all(isinstance(term, str) for term in terms):
        raise ValueError(f"document {doc_id!r}: `search_terms` must be a list of str")
    return doc_id, version, terms


def encoded(document: Document) -> EncodedDocument:
    """The document as a store writes it; ValueError as `checked` says."""
    doc_id, version, terms = checked(document)
    # orjson writes NaN and Infinity as null, which SQLite's JSON functions accept.
    return EncodedDocument(doc_id, version, orjson.dumps(document), list(dict.fromkeys(terms)))


@dataclass(frozen=True, slots=True)
class Query:
    """A search over one collection.

    `prefixes`: every one must be a prefix of some element of the `search_terms` array
    (compared exactly: the projection stores terms normalised, callers normalise prefixes).
    `equals`: top-level field == value. `contains`: array field has the value.
    `any_of`: field (scalar or array) matches one of the values.
    A `None` value also matches a missing field, as in MongoDB.
    `sort`: a top-level scalar field; results are ordered by (sort, _id), `descending` flips.
    Null or missing sort values come first (last when descending); give a sort field one type
    per collection, as stores order mixed types differently.
    `after`: keyset cursor, the (sort value, _id) of the last document of the previous page.
    `fields`: return these top-level fields of each document alone, with `_id` (a field the
    document lacks or holds null may come back missing or null); empty: whole documents.
    Field names are top-level identifiers (`[A-Za-z_][A-Za-z0-9_]*`); adapters refuse others.
    """

    prefixes: tuple[str, ...] = ()
    equals: Mapping[str, Scalar] = field(default_factory=dict)
    contains: Mapping[str, Scalar] = field(default_factory=dict)
    any_of: Mapping[str, Sequence[Scalar]] = field(default_factory=dict)
    sort: str = "_id"
    descending: bool = False
    after: tuple[Scalar, str] | None = None
    limit: int = 50
    fields: tuple[str, ...] = ()


class ReadStore(abc.ABC):
    @abc.abstractmethod
    async def get(self, collection: str, doc_id: str) -> Document | None: ...

    @abc.abstractmethod
    async def get_many(self, collection: str, doc_ids: Sequence[str]) -> dict[str, Document]: ...

    @abc.abstractmethod
    async def find(self, collection: str, query: Query) -> list[Document]: ...

    async def find_each(self, collection: str, queries: Sequence[Query]) -> list[list[Document]]:
        """The answer of each query, in order (a store may run them together)."""
        return [await self.find(collection, query) for query in queries]

    @abc.abstractmethod
    async def count(self, collection: str) -> int: ...

    @abc.abstractmethod
    async def write(
        self,
        collection: str,
        documents: Sequence[Document],
        *,
        checkpoint_name: str,
        position: int,
    ) -> None:
        """Upsert documents whose `_version` is higher than the stored one, then the checkpoint."""

    async def write_encoded(
        self,
        collection: str,
        documents: Sequence[EncodedDocument],
        *,
        checkpoint_name: str,
        position: int,
    ) -> None:
        """`write` of documents already serialised (a store that keeps JSON takes the bodies
        as they are)."""
        await self.write(
            collection,
            [document.document() for document in documents],
            checkpoint_name=checkpoint_name,
            position=position,
        )

    @abc.abstractmethod
    async def checkpoint(self, checkpoint_name: str) -> int | None: ...

    @abc.abstractmethod
    async def drop(self, collection: str) -> None: ...

    @abc.abstractmethod
    async def generations(self, projection: str) -> tuple[int, int | None]:
        """(active generation, generation being built or None); (1, None) when never set."""

    @abc.abstractmethod
    async def set_generations(self, projection: str, active: int, building: int | None) -> None:
        """Atomically record which generation serves and which one a replay is building."""

    @abc.abstractmethod
    async def erase_replaced(self) -> None:
        """Leave no readable copy, anywhere in the store's files, of what writes so far
        replaced or deleted (called after a write that erased personal data)."""

    @abc.abstractmethod
    async def close(self) -> None: ...
