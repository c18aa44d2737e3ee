"""Random (version 4) UUIDs for ids made per request: correlation, request and customer ids;
time-ordered (version 7) UUIDs for event ids; and random bytes (the nonces that seal personal
data).

`uuid.uuid4()` asks the kernel for 16 bytes each time, and `os.urandom` lets go of the GIL
for that call: in a busy server the event loop then waits behind the worker threads to take
it back, which profiles showed costing far more than the call itself. The same CSPRNG's
bytes are drawn here a block at a time; a forked child draws a block of its own.
"""

from __future__ import annotations

import os
import threading
import time
from uuid import UUID

_BLOCK = 4096


class _RandomBytes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._block = b""
        self._used = 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._used + count > len(self._block):
                self._block, self._used = os.urandom(_BLOCK), 0
            start, self._used = self._used, self._used + count
            return self._block[start : self._used]

    def forget(self) -> None:
        self._block, self._used = b"", 0


_RANDOM = _RandomBytes()
os.register_at_fork(after_in_child=_RANDOM.forget)


def new_uuid() -> UUID:
    """A random UUID, as `uuid.uuid4()` makes."""
    return UUID(bytes=_RANDOM.take(16), version=4)


def random_bytes(count: int) -> bytes:
    """`count` bytes from the CSPRNG, as `os.urandom(count)` gives."""
    return _RANDOM.take(count)


_RANDOM_BITS = 74  # of a version-7 UUID: 12 after its version, 62 after its variant
_VERSION_7 = 7 << 76
_VARIANT_RFC = 0b10 << 62
_LOW_62 = (1 << 62) - 1


class _TimeOrdered:
    """Version-7 UUIDs (RFC 9562): the unix time in milliseconds, then random bits; ids made
    in the same millisecond count up from the first one's random bits, so the ids of one
    process only grow. An event id index then grows at its right edge, page after page,
    where random ids would land each in another page of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = (0, 0)  # (milliseconds, random bits) of the last id made

    def next(self) -> UUID:
        now = time.time_ns() // 1_000_000
        with self._lock:
            millis, counter = self._last
            if now > millis:
                millis, counter = now, _random_bits()
            else:  # the same millisecond, or the clock went back: count on
                counter += 1
                if counter >> _RANDOM_BITS:
                    millis, counter = millis + 1, _random_bits()
            self._last = (millis, counter)
        rand_a, rand_b = counter >> 62, counter & _LOW_62
        return UUID(int=millis << 80 | _VERSION_7 | rand_a << 64 | _VARIANT_RFC | rand_b)

    def forget(self) -> None:
        """In a forked child: draw new random bits rather than count on from the parent's."""
        self._last = (0, 0)


def _random_bits() -> int:
    # One bit short of the counter's room, so counting on within a millisecond never overflows
    # in practice.
    return int.from_bytes(_RANDOM.take(10)) >> (80 - _RANDOM_BITS + 1)


_TIME_ORDERED = _TimeOrdered()
os.register_at_fork(after_in_child=_TIME_ORDERED.forget)


def new_event_id() -> UUID:
    """A time-ordered (version 7) UUID for a new event: later ids of this process sort after
    earlier ones."""
    return _TIME_ORDERED.next()
