"""In-memory stand-ins for the read store and the customer streams, for the handlers' tests.

The fake read store follows the port's documented query semantics (nulls sort lowest, as in
the SQLite adapter); the real adapters are exercised by the e2e tests.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from customerhub_shared.events import Envelope
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.readstore import Document, Query, ReadStore


class InMemoryReadStore(ReadStore):
    def __init__(self) -> None:
        self.collections: dict[str, dict[str, Document]] = {}
        self.checkpoints: dict[str, int] = {}
        self.active: dict[str, tuple[int, int | None]] = {}

    def put(self, collection: str, *documents: Document) -> None:
        for document in documents:
            self.collections.setdefault(collection, {})[document["_id"]] = copy.deepcopy(document)

    async def get(self, collection: str, doc_id: str) -> Document | None:
        found = self.collections.get(collection, {}).get(doc_id)
        return copy.deepcopy(found) if found is not None else None

    async def get_many(self, collection: str, doc_ids: Sequence[str]) -> dict[str, Document]:
        return {i: d for i in doc_ids if (d := await self.get(collection, i)) is not None}

    async def find(self, collection: str, query: Query) -> list[Document]:
        documents = [d for d in self.collections.get(collection, {}).values() if _matches(d, query)]
        documents.sort(key=lambda d: _order(d, query.sort), reverse=query.descending)
        if query.after is not None:
            after = _order({query.sort: query.after[0], "_id": query.after[1]}, query.sort)
            documents = [d for d in documents if _beyond(_order(d, query.sort), after, query)]
        return copy.deepcopy(documents[: query.limit])

    async def count(self, collection: str) -> int:
        return len(self.collections.get(collection, {}))

    async def write(
        self, collection: str, documents: Sequence[Document], *, checkpoint_name: str, position: int
    ) -> None:
        self.put(collection, *documents)
        self.checkpoints[checkpoint_name] = position

    async def checkpoint(self, checkpoint_name: str) -> int | None:
        return self.checkpoints.get(checkpoint_name)

    async def drop(self, collection: str) -> None:
        self.collections.pop(collection, None)

    async def generations(self, projection: str) -> tuple[int, int | None]:
        return self.active.get(projection, (1, None))

    async def set_generations(self, projection: str, active: int, building: int | None) -> None:
        self.active[projection] = (active, building)

    async def erase_replaced(self) -> None:
        pass

    async def close(self) -> None:
        pass


def _order(document: Document, sort: str) -> tuple[Any, ...]:
    value = document.get(sort)
    return (value is not None, value if value is not None else 0, document["_id"])


def _beyond(order: tuple[Any, ...], after: tuple[Any, ...], query: Query) -> bool:
    return order < after if query.descending else order > after


def _has(value: Any, wanted: Any) -> bool:
    return wanted in value if isinstance(value, list) else value == wanted


def _matches(document: Document, query: Query) -> bool:
    terms = document.get("search_terms", [])
    return (
        all(any(term.startswith(prefix) for term in terms) for prefix in query.prefixes)
        and all(document.get(name) == value for name, value in query.equals.items())
        and all(_has(document.get(name, []), value) for name, value in query.contains.items())
        and all(
            any(_has(document.get(name), choice) for choice in choices)
            for name, choices in query.any_of.items()
        )
    )


class InMemoryCustomerStreams:
    """Customer streams already decrypted (or erased), as CustomerStreams reads them."""

    def __init__(self) -> None:
        self.streams: dict[UUID, list[Envelope]] = {}

    def add(self, customer_id: UUID, envelopes: Sequence[Envelope]) -> None:
        self.streams[customer_id] = list(envelopes)

    async def version(self, customer_id: UUID) -> int:
        return len(self.streams.get(customer_id, []))

    async def read(self, customer_id: UUID, *, from_version: int = 0) -> list[Envelope]:
        return self.streams.get(customer_id, [])[from_version:]

    async def recorded(self, customer_id: UUID) -> list[RecordedEvent]:
        # Envelopes are already opened: there are no stored bytes to verify here.
        return []
