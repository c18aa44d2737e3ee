"""Request-made ids: random version-4 UUIDs, never repeated, not even across a fork; event ids:
time-ordered version-7 UUIDs."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from uuid import UUID

import pytest

from customerhub_shared.ids import new_event_id, new_uuid


def test_new_ids_are_distinct_random_version_4_uuids() -> None:
    made = [new_uuid() for _ in range(20_000)]  # several blocks of random bytes
    assert len(set(made)) == len(made)
    assert all(found.version == 4 and found.variant == uuid.RFC_4122 for found in made)


def _made_here_and_in_a_forked_child(make: Callable[[], UUID]) -> tuple[set[UUID], set[UUID]]:
    """Eight ids `make` gives in this process and eight it gives in a child forked now."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(reading)
        os.write(writing, b"".join(make().bytes for _ in range(8)))
        os._exit(0)
    os.close(writing)
    mine = {make() for _ in range(8)}
    with os.fdopen(reading, "rb") as pipe:
        from_child = pipe.read()
    os.waitpid(child, 0)
    return mine, {UUID(bytes=from_child[n : n + 16]) for n in range(0, len(from_child), 16)}


def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    new_uuid()  # the parent holds a block it has only started
    mine, theirs = _made_here_and_in_a_forked_child(new_uuid)
    assert len(theirs) == len(mine) == 8
    assert not theirs & mine


def test_event_ids_are_version_7_uuids_that_only_grow() -> None:
    made = [new_event_id() for _ in range(20_000)]  # many within one millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(found.version == 7 and found.variant == uuid.RFC_4122 for found in made)


def test_an_event_id_starts_with_the_unix_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    made = new_event_id()
    after = time.time_ns() // 1_000_000
    assert before <= made.int >> 80 <= after + 1


def test_a_forked_child_makes_other_event_ids_than_its_parent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One millisecond for parent and child alike: each counts on from the ids it made last.
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000_000_000)  # in the past
    new_event_id()
    mine, theirs = _made_here_and_in_a_forked_child(new_event_id)
    assert len(theirs) == len(mine) == 8
    assert not theirs & mine


def test_an_event_id_of_a_later_millisecond_draws_new_random_bits() -> None:
    first = new_event_id()
    time.sleep(0.003)
    second = new_event_id()
    assert second.int >> 80 > first.int >> 80
    assert _random_bits(second) not in (_random_bits(first), _random_bits(first) + 1)


def _random_bits(event_id: uuid.UUID) -> int:
    """The 74 bits of a version-7 UUID after its time, its version and variant bits left out."""
    return (event_id.int >> 64 & 0xFFF) << 62 | event_id.int & ((1 << 62) - 1)
