"""The hashes of stream heads this process has seen, so an append can chain on the previous
event without reading it back: a recorded event never changes, so neither does its hash."""

from __future__ import annotations

from collections import OrderedDict


class KnownHeads:
    """The newest known (revision, hash) per stream, the least recently used forgotten first."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._heads: OrderedDict[str, tuple[int, str]] = OrderedDict()

    def hash_at(self, stream: str, revision: int) -> str | None:
        """The hash of `stream`'s event at `revision`, when that is the head known here."""
        head = self._heads.get(stream)
        if head is None or head[0] != revision:
            return None
        self._heads.move_to_end(stream)
        return head[1]

    def remember(self, stream: str, revision: int, hash: str | None) -> None:
        """Note a recorded event's hash (events recorded before hashes existed have none)."""
        if hash is None:
            self._heads.pop(stream, None)
            return
        known = self._heads.get(stream)
        if known is not None and known[0] > revision:
            return
        self._heads[stream] = (revision, hash)
        self._heads.move_to_end(stream)
        if len(self._heads) > self._capacity:
            self._heads.popitem(last=False)
