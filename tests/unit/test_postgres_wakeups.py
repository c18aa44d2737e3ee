import asyncio

import pytest

from customerhub_shared.eventstore.postgres_wakeups import Wakeups


async def test_a_burst_of_appends_is_announced_once_with_the_newest_position() -> None:
    sent: list[int] = []
    gate = asyncio.Event()

    async def send(position: int) -> None:
        sent.append(position)
        await gate.wait()

    wakeups = Wakeups(send)
    wakeups.announce(1)
    await asyncio.sleep(0)
    for position in (2, 5, 3, 4):  # while the first NOTIFY is in flight
        wakeups.announce(position)
    gate.set()
    await asyncio.sleep(0.01)
    assert sent == [1, 5]
    await wakeups.close()


async def test_closing_sends_what_is_still_pending() -> None:
    sent: list[int] = []

    async def send(position: int) -> None:
        sent.append(position)

    wakeups = Wakeups(send)
    wakeups.announce(7)
    await wakeups.close()
    assert sent == [7]


async def test_a_failed_notify_is_logged_and_the_next_one_still_goes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent: list[int] = []

    async def send(position: int) -> None:
        if not sent:
            sent.append(-position)
            raise OSError("connection lost")
        sent.append(position)

    wakeups = Wakeups(send)
    wakeups.announce(1)
    await asyncio.sleep(0.01)
    wakeups.announce(2)
    await asyncio.sleep(0.01)
    assert sent == [-1, 2]
    assert "could not notify followers" in caplog.text
    await wakeups.close()
