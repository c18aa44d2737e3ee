"""The hash chain of a stream: each event's hash covers its stored bytes and the previous hash.

The hash is computed over what the store holds (the sealed data and the metadata as stored,
id, type, stream, revision), never over plaintext, so destroying a customer's key leaves every
hash valid. Every adapter calls `chain_hash`, so all of them agree byte for byte.

Events recorded before hashes existed have none. The first hashed event of such a stream is
chained on the hash its predecessors would have had, recomputed from their stored bytes, so
that hash still covers the unhashed prefix: changing a byte of it breaks the first stored hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from customerhub_shared.eventstore.port import NewEvent, RecordedEvent

# What the first event of a stream is chained on.
GENESIS = ""


def chain_hash(
    previous: str,
    *,
    event_id: UUID,
    type: str,
    stream: str,
    revision: int,
    data: bytes,
    metadata: bytes,
) -> str:
    """The SHA-256 (hex) of one event's stored bytes chained on its predecessor's hash."""
    fields = (
        previous.encode(),
        str(event_id).encode(),
        type.encode(),
        stream.encode(),
        str(revision).encode(),
        data,
        metadata,
    )
    # Length-prefixed, so no two different events frame to the same bytes.
    framed = b"".join(len(part).to_bytes(8, "big") + part for part in fields)
    return hashlib.sha256(b"customerhub.chain.v1" + framed).hexdigest()


def recorded_hash(previous: str, event: RecordedEvent) -> str:
    """What `event`'s hash must be, chained on `previous`."""
    return chain_hash(
        previous,
        event_id=event.id,
        type=event.type,
        stream=event.stream,
        revision=event.revision,
        data=event.data,
        metadata=event.metadata,
    )


def new_event_hash(previous: str, stream: str, revision: int, event: NewEvent) -> str:
    """The hash an event about to be appended at `revision` of `stream` gets."""
    return chain_hash(
        previous,
        event_id=event.id,
        type=event.type,
        stream=stream,
        revision=revision,
        data=event.data,
        metadata=event.metadata,
    )


def chained_hashes(
    previous: str, stream: str, version: int, events: Sequence[NewEvent]
) -> list[str]:
    """The hashes of events appended at `version` on, the first chained on `previous`."""
    hashes: list[str] = []
    for offset, event in enumerate(events):
        previous = new_event_hash(previous, stream, version + offset, event)
        hashes.append(previous)
    return hashes


def head_of(events: Iterable[RecordedEvent]) -> str:
    """The hash a stream's next event chains on, given the stream's events oldest first.

    A stored hash is trusted as the head; an event without one (recorded before hashes
    existed) gets its hash recomputed from its bytes.
    """
    head = GENESIS
    for event in events:
        head = event.hash if event.hash is not None else recorded_hash(head, event)
    return head


@dataclass
class ChainWalk:
    """Checks one stream's events in revision order, one at a time."""

    stream: str
    events: int = 0
    unhashed_prefix: int = 0
    head: str = GENESIS
    first_mismatch: dict[str, Any] | None = None

    def check(self, event: RecordedEvent) -> None:
        if self.first_mismatch is not None:
            self.events += 1
            return
        expected = recorded_hash(self.head, event)
        if event.hash is None and self.events == self.unhashed_prefix:
            self.unhashed_prefix += 1
        elif event.hash != expected:
            self.first_mismatch = _mismatch(event, expected)
        self.events += 1
        self.head = expected

    @property
    def verified(self) -> bool:
        return self.first_mismatch is None

    def verdict(self) -> dict[str, Any]:
        """The answer of `audit verify` and `GET …/history/verify` for this stream."""
        answer: dict[str, Any] = {"verified": self.verified, "events": self.events}
        if self.first_mismatch is None:
            answer["head"] = self.head if self.events else None
        else:
            answer["first_mismatch"] = self.first_mismatch
        if self.unhashed_prefix:
            answer["unhashed_prefix"] = self.unhashed_prefix
        return answer


def verify_stream(stream: str, events: Iterable[RecordedEvent]) -> ChainWalk:
    walk = ChainWalk(stream)
    for event in events:
        walk.check(event)
    return walk


def _mismatch(event: RecordedEvent, expected: str) -> dict[str, Any]:
    return {
        "stream": event.stream,
        "revision": event.revision,
        "position": event.position,
        "event_id": str(event.id),
        "type": event.type,
        "stored_hash": event.hash,
        "expected_hash": expected,
    }


@dataclass
class LogWalk:
    """Checks every stream of the global log at once, fed in log order."""

    walks: dict[str, ChainWalk] = field(default_factory=dict)
    first_mismatch: dict[str, Any] | None = None

    def check(self, event: RecordedEvent) -> None:
        walk = self.walks.setdefault(event.stream, ChainWalk(event.stream))
        walk.check(event)
        if self.first_mismatch is None and walk.first_mismatch is not None:
            self.first_mismatch = walk.first_mismatch

    def verdict(self) -> dict[str, Any]:
        """The answer of `audit verify` without `--customer`."""
        walks = self.walks.values()
        answer: dict[str, Any] = {
            "verified": self.first_mismatch is None,
            "streams": len(self.walks),
            "events": sum(walk.events for walk in walks),
        }
        if self.first_mismatch is not None:
            answer["first_mismatch"] = self.first_mismatch
            answer["streams_mismatched"] = sum(not walk.verified for walk in walks)
        unhashed = sum(walk.unhashed_prefix for walk in walks)
        if unhashed:
            answer["unhashed_prefix"] = unhashed
        return answer
