"""Random (version 4) UUIDs for ids made per request: correlation, request, event and
customer ids; and random bytes (the nonces that seal personal data).

`uuid.uuid4()` asks the kernel for 16 bytes each time, and `os.urandom` lets go of the GIL
for that call: in a busy server the event loop then waits behind the worker threads to take
it back, which profiles showed costing far more than the call itself. The same CSPRNG's
bytes are drawn here a block at a time; a forked child draws a block of its own.
"""

from __future__ import annotations

import os
import threading
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
