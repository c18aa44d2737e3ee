"""The duplicate searches of creates that look at the read model at the same position share
the answers of the queries they have in common (the holders of a common name stem).

The read model changes only when the in-process projector writes, and its position says
which write it has reached: an answer found at that position is as good for every create
that waited for it, and one new write makes all of them stale. Answers live until the next
write, never longer, so a customer's erased data does not outlive the write that erased it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from customer_query.application.queries import ReadModel
from customerhub_shared.readstore import Document, Query

Answers = list[list[Document]]


class SharedAnswers:
    """One batch of queries in flight or found per query, for one (collection, position)."""

    def __init__(self) -> None:
        self._at: tuple[str, int] | None = None
        self._found: dict[str, tuple[asyncio.Future[Answers], int]] = {}

    def at(self, read_model: ReadModel, position: int) -> ReadModel:
        """`read_model` whose queries share their answers with others at `position`."""
        if self._at != (read_model.collection, position):
            self._at = (read_model.collection, position)
            self._found = {}
        return SharingReadModel(read_model.store, read_model.collection, self._found)


@dataclass(frozen=True)
class SharingReadModel(ReadModel):
    found: dict[str, tuple[asyncio.Future[Answers], int]]

    async def find_each(self, queries: Sequence[Query]) -> Answers:
        keys = [repr(query) for query in queries]
        missing = dict(zip(keys, queries, strict=True))
        for key in self.found.keys() & missing.keys():
            del missing[key]
        if missing:
            batch = asyncio.ensure_future(
                self.store.find_each(self.collection, list(missing.values()))
            )
            batch.add_done_callback(self._forget_if_failed(list(missing)))
            for index, key in enumerate(missing):
                self.found[key] = (batch, index)
        wanted = [self.found[key] for key in keys]
        # Shielded: a create that goes away does not take the others' answers with it.
        return [(await asyncio.shield(batch))[index] for batch, index in wanted]

    def _forget_if_failed(self, keys: list[str]) -> Callable[[asyncio.Future[Answers]], None]:
        def forget(batch: asyncio.Future[Answers]) -> None:
            if batch.cancelled() or batch.exception() is not None:
                for key in keys:
                    if self.found.get(key, (None, 0))[0] is batch:
                        del self.found[key]

        return forget
