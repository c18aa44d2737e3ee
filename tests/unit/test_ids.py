"""Request-made ids: random version-4 UUIDs, never repeated, not even across a fork."""

from __future__ import annotations

import os
import uuid

from customerhub_shared.ids import new_uuid


def test_new_ids_are_distinct_random_version_4_uuids() -> None:
    made = [new_uuid() for _ in range(20_000)]  # several blocks of random bytes
    assert len(set(made)) == len(made)
    assert all(found.version == 4 and found.variant == uuid.RFC_4122 for found in made)


def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    new_uuid()  # the parent holds a block it has only started
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(reading)
        os.write(writing, b"".join(new_uuid().bytes for _ in range(8)))
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        from_child = pipe.read()
    os.waitpid(child, 0)
    mine = b"".join(new_uuid().bytes for _ in range(8))
    theirs = {from_child[n : n + 16] for n in range(0, len(from_child), 16)}
    assert len(theirs) == 8
    assert not theirs & {mine[n : n + 16] for n in range(0, len(mine), 16)}
