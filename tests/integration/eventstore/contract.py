"""The event-store contract, stated once; each adapter's test module subclasses it."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from customerhub_shared.eventstore import (
    ConcurrencyConflict,
    DuplicateEventId,
    EventStore,
    NewEvent,
    RecordedEvent,
)
from customerhub_shared.eventstore.chain import GENESIS, recorded_hash, verify_stream


def new_event(kind: str = "customerhub.test.happened.v1", n: int = 0) -> NewEvent:
    return NewEvent(
        id=uuid.uuid4(),
        type=kind,
        data=f'{{"n": {n}}}'.encode(),
        metadata=b'{"actor": "tester"}',
    )


def fresh_stream() -> str:
    return f"contract-{uuid.uuid4()}"


async def first_events(subscription: object, count: int) -> list[RecordedEvent]:
    received: list[RecordedEvent] = []
    async for event in subscription:  # type: ignore[attr-defined]
        received.append(event)
        if len(received) == count:
            break
    return received


class EventStoreContract:
    """Subclasses provide a `store` fixture yielding a ready EventStore."""

    async def test_append_to_a_new_stream_starts_at_version_one(self, store: EventStore) -> None:
        stream = fresh_stream()
        result = await store.append(stream, [new_event()], expected_version=0)
        assert result.version == 1
        assert result.position == (await store.read_stream(stream))[0].position

    async def test_append_with_the_current_version_extends_the_stream(
        self, store: EventStore
    ) -> None:
        stream = fresh_stream()
        await store.append(stream, [new_event(n=0), new_event(n=1)], expected_version=0)
        result = await store.append(stream, [new_event(n=2)], expected_version=2)
        assert result.version == 3
        assert await store.stream_version(stream) == 3

    async def test_stale_expected_version_is_a_conflict_and_appends_nothing(
        self, store: EventStore
    ) -> None:
        stream = fresh_stream()
        await store.append(stream, [new_event()], expected_version=0)
        with pytest.raises(ConcurrencyConflict) as conflict:
            await store.append(stream, [new_event(), new_event()], expected_version=0)
        assert conflict.value.actual == 1
        assert len(await store.read_stream(stream)) == 1

    async def test_expecting_an_existing_version_of_a_missing_stream_conflicts(
        self, store: EventStore
    ) -> None:
        with pytest.raises(ConcurrencyConflict):
            await store.append(fresh_stream(), [new_event()], expected_version=3)

    async def test_reusing_an_event_id_is_refused(self, store: EventStore) -> None:
        event = new_event()
        await store.append(fresh_stream(), [event], expected_version=0)
        with pytest.raises(DuplicateEventId):
            await store.append(fresh_stream(), [event], expected_version=0)

    async def test_read_stream_returns_events_in_order_with_their_bytes(
        self, store: EventStore
    ) -> None:
        stream = fresh_stream()
        sent = [new_event(n=n) for n in range(5)]
        await store.append(stream, sent[:2], expected_version=0)
        await store.append(stream, sent[2:], expected_version=2)
        read = await store.read_stream(stream)
        assert [e.id for e in read] == [e.id for e in sent]
        assert [e.revision for e in read] == [0, 1, 2, 3, 4]
        assert [e.data for e in read] == [e.data for e in sent]
        assert read[0].metadata == sent[0].metadata
        assert all(e.stream == stream and e.type == sent[0].type for e in read)
        assert [e.position for e in read] == sorted(e.position for e in read)
        assert [e.id for e in await store.read_stream(stream, from_version=3)] == [
            sent[3].id,
            sent[4].id,
        ]

    async def test_read_of_a_missing_stream_is_empty(self, store: EventStore) -> None:
        assert await store.read_stream(fresh_stream()) == []
        assert await store.stream_version(fresh_stream()) == 0

    async def test_read_all_from_a_position_returns_later_events_in_log_order(
        self, store: EventStore
    ) -> None:
        start = await store.head_position()
        a, b = fresh_stream(), fresh_stream()
        await store.append(a, [new_event(n=1)], expected_version=0)
        await store.append(b, [new_event(n=2)], expected_version=0)
        await store.append(a, [new_event(n=3)], expected_version=1)
        log = [e for e in await store.read_all(after=start) if e.stream in (a, b)]
        assert [(e.stream, e.revision) for e in log] == [(a, 0), (b, 0), (a, 1)]
        assert [e.position for e in log] == sorted({e.position for e in log})
        later = await store.read_all(after=log[0].position)
        assert log[0].id not in {e.id for e in later}
        assert {log[1].id, log[2].id} <= {e.id for e in later}
        assert await store.head_position() == log[-1].position

    async def test_read_all_honours_the_limit(self, store: EventStore) -> None:
        start = await store.head_position()
        await store.append(fresh_stream(), [new_event(n=n) for n in range(5)], expected_version=0)
        assert len(await store.read_all(after=start, limit=3)) == 3

    async def test_a_follower_reads_what_a_reader_of_the_log_reads(self, store: EventStore) -> None:
        start = await store.head_position()
        a, b = fresh_stream(), fresh_stream()
        await store.append(a, [new_event(n=n) for n in range(3)], expected_version=0)
        await store.append(b, [new_event(n=3)], expected_version=0)
        for after, limit in ((start, 100), (start, 2)):
            log = await store.read_all(after=after, limit=limit)
            assert await store.read_following(after=after, limit=limit) == log
        later = (await store.read_all(after=start))[1].position
        assert await store.read_following(after=later, limit=100) == await store.read_all(
            after=later
        )

    async def test_subscription_catches_up_from_a_checkpoint_then_receives_live_events(
        self, store: EventStore
    ) -> None:
        stream = fresh_stream()
        await store.append(stream, [new_event(n=0)], expected_version=0)
        checkpoint = (await store.read_stream(stream))[0].position
        await store.append(stream, [new_event(n=1)], expected_version=1)

        async def mine() -> list[RecordedEvent]:
            received: list[RecordedEvent] = []
            async for event in store.subscribe(after=checkpoint):
                if event.stream == stream:
                    received.append(event)
                if len(received) == 3:
                    return received
            return received

        follower = asyncio.create_task(mine())
        await asyncio.sleep(0.3)
        await store.append(stream, [new_event(n=2), new_event(n=3)], expected_version=2)
        received = await asyncio.wait_for(follower, timeout=10)
        assert [e.revision for e in received] == [1, 2, 3]

    async def test_twenty_concurrent_writers_to_one_stream_lose_nothing(
        self, store: EventStore
    ) -> None:
        stream = fresh_stream()
        conflicts = 0

        async def writer(n: int) -> None:
            nonlocal conflicts
            while True:
                version = await store.stream_version(stream)
                try:
                    await store.append(stream, [new_event(n=n)], expected_version=version)
                    return
                except ConcurrencyConflict:
                    conflicts += 1

        await asyncio.wait_for(asyncio.gather(*(writer(n) for n in range(20))), timeout=60)
        events = await store.read_stream(stream)
        assert sorted(e.data for e in events) == sorted(f'{{"n": {n}}}'.encode() for n in range(20))
        assert [e.revision for e in events] == list(range(20))

    async def test_twenty_concurrent_blind_writers_all_land(self, store: EventStore) -> None:
        stream = fresh_stream()
        await asyncio.gather(
            *(store.append(stream, [new_event(n=n)], expected_version=None) for n in range(20))
        )
        assert [e.revision for e in await store.read_stream(stream)] == list(range(20))

    async def test_every_event_carries_a_hash_chained_on_its_predecessor(
        self, store: EventStore
    ) -> None:
        stream, start = fresh_stream(), await store.head_position()
        await store.append(stream, [new_event(n=0), new_event(n=1)], expected_version=0)
        await store.append(stream, [new_event(n=2)], expected_version=2)
        events = await store.read_stream(stream)
        previous = GENESIS
        for event in events:
            assert event.hash == recorded_hash(previous, event)
            previous = event.hash
        walk = verify_stream(stream, events)
        assert walk.verdict() == {"verified": True, "events": 3, "head": events[-1].hash}
        logged = [e for e in await store.read_all(after=start) if e.stream == stream]
        assert logged == events

    async def test_concurrent_writers_leave_one_unbroken_chain(self, store: EventStore) -> None:
        stream = fresh_stream()
        await asyncio.gather(
            *(store.append(stream, [new_event(n=n)], expected_version=None) for n in range(8))
        )
        assert verify_stream(stream, await store.read_stream(stream)).verified

    async def test_the_hash_covers_the_stored_bytes(self, store: EventStore) -> None:
        stream = fresh_stream()
        await store.append(stream, [new_event(n=0), new_event(n=1)], expected_version=0)
        first, second = await store.read_stream(stream)
        altered = dataclasses.replace(first, data=first.data.replace(b"0", b"7"))
        walk = verify_stream(stream, [altered, second])
        assert walk.verdict()["first_mismatch"]["revision"] == 0
