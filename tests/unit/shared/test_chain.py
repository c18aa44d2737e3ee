"""The hash chain: what it covers, what breaks it, and how a history without hashes is read."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from customerhub_shared.eventstore import NewEvent, RecordedEvent
from customerhub_shared.eventstore.chain import (
    GENESIS,
    LogWalk,
    chain_hash,
    chained_hashes,
    head_of,
    recorded_hash,
    verify_stream,
)

STREAM = "customer-6f1c0000-0000-4000-8000-000000000001"


def stream_of(count: int, *, stream: str = STREAM, hashed_from: int = 0) -> list[RecordedEvent]:
    """`count` events chained as an adapter would record them; none hashed before
    `hashed_from` (a history from before hashes)."""
    new = [
        NewEvent(uuid.uuid4(), "customerhub.customer.label_added.v1", b'{"label":"vip"}', b"{}")
        for _ in range(count)
    ]
    hashes = chained_hashes(GENESIS, stream, 0, new)
    return [
        RecordedEvent(
            id=event.id,
            stream=stream,
            revision=revision,
            position=100 + revision,
            type=event.type,
            data=event.data,
            metadata=event.metadata,
            recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
            hash=hashes[revision] if revision >= hashed_from else None,
        )
        for revision, event in enumerate(new)
    ]


def test_an_untouched_stream_verifies_to_its_last_hash() -> None:
    events = stream_of(4)
    assert verify_stream(STREAM, events).verdict() == {
        "verified": True,
        "events": 4,
        "head": events[-1].hash,
    }
    assert head_of(events) == events[-1].hash


def test_an_empty_stream_has_no_head() -> None:
    assert verify_stream(STREAM, []).verdict() == {"verified": True, "events": 0, "head": None}


@pytest.mark.parametrize(
    "change",
    [
        {"data": b'{"label":"vop"}'},
        {"metadata": b'{"actor":"mallory"}'},
        {"type": "customerhub.customer.label_removed.v1"},
        {"id": uuid.UUID(int=1)},
        {"revision": 7},
        {"stream": "customer-other"},
        {"hash": "0" * 64},
        {"hash": None},
    ],
)
def test_any_change_to_a_stored_event_names_that_event(change: dict[str, Any]) -> None:
    events = stream_of(4)
    events[2] = dataclasses.replace(events[2], **change)
    verdict = verify_stream(STREAM, events).verdict()
    assert verdict["verified"] is False and verdict["events"] == 4
    assert verdict["first_mismatch"]["event_id"] == str(events[2].id)
    assert "head" not in verdict


def test_a_removed_event_breaks_the_chain_at_its_successor() -> None:
    events = stream_of(4)
    del events[1]
    assert verify_stream(STREAM, events).verdict()["first_mismatch"]["revision"] == 2


def test_fields_cannot_shift_bytes_between_each_other() -> None:
    common: dict[str, Any] = {"event_id": uuid.UUID(int=5), "stream": "s", "revision": 0}
    assert chain_hash(GENESIS, type="t", data=b"ab", metadata=b"c", **common) != chain_hash(
        GENESIS, type="t", data=b"a", metadata=b"bc", **common
    )


def test_a_history_from_before_hashes_is_covered_by_its_first_hash() -> None:
    events = stream_of(4, hashed_from=2)
    walk = verify_stream(STREAM, events)
    assert walk.verdict()["unhashed_prefix"] == 2 and walk.verified
    # The first stored hash chains on the prefix's recomputed hashes: editing it shows there.
    events[0] = dataclasses.replace(events[0], data=b'{"label":"edited"}')
    assert verify_stream(STREAM, events).verdict()["first_mismatch"]["revision"] == 2


def test_the_next_hash_of_an_unhashed_history_is_its_recomputed_head() -> None:
    hashed = stream_of(3)
    unhashed = [dataclasses.replace(event, hash=None) for event in hashed]
    assert head_of(unhashed) == hashed[-1].hash == recorded_hash(hashed[1].hash or "", hashed[2])


def test_the_whole_log_is_checked_stream_by_stream() -> None:
    first, second = stream_of(3, stream="customer-a"), stream_of(2, stream="customer-b")
    log = [first[0], second[0], first[1], second[1], first[2]]
    walk = LogWalk()
    for event in log:
        walk.check(event)
    assert walk.verdict() == {"verified": True, "streams": 2, "events": 5}

    broken = LogWalk()
    for event in [*log[:3], dataclasses.replace(second[1], data=b"{}"), first[2]]:
        broken.check(event)
    verdict = broken.verdict()
    assert verdict["verified"] is False and verdict["streams_mismatched"] == 1
    assert verdict["first_mismatch"]["stream"] == "customer-b"
