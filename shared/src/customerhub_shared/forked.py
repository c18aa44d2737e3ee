"""Pure CPU work run in a forked copy of this process, so a rebuild uses a second core.

The child starts with the parent's memory (the batch to fold is not copied through a pipe),
runs one function that touches nothing but its arguments, writes its bytes to a pipe and
exits at once: no event loop, thread, file or log of the parent is used in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable

# Whether work may go to a forked child: fork exists and a second core to run it.
AVAILABLE = hasattr(os, "fork") and (os.cpu_count() or 1) > 1
_OK, _FAILED = b"\x00", b"\x01"


class ForkedWorkFailed(RuntimeError):
    """The work raised in the child (only the error's type is told: its message could hold
    the data the work was on)."""


async def run_forked(work: Callable[[], bytes]) -> bytes:
    """`work()` run in a forked child; its bytes, read while the caller's loop goes on."""
    return await start_forked(work).answer()


def start_forked(work: Callable[[], bytes]) -> Child:
    """A child forked now to run `work()` (the caller may drop what `work` holds at once:
    the child has its own copy)."""
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child, measured by the parent's tests
        _child(work, readable, writable)
    os.close(writable)
    return Child(pid, readable)


class Child:
    """A forked child and the pipe its answer comes on."""

    def __init__(self, pid: int, readable: int) -> None:
        self.pid, self._readable, self._reading = pid, readable, False

    async def answer(self, *, within: float | None = None) -> bytes:
        """Its bytes once it exited; ForkedWorkFailed if its work raised or gave no answer
        `within` seconds (a child stuck on a lock a thread of the parent held when it was
        forked fails the caller instead of hanging it). Cancelled, the child is killed."""
        self._reading = True
        try:
            async with asyncio.timeout(within):
                data = await asyncio.to_thread(_read_all, self._readable)
                _, status = await asyncio.to_thread(os.waitpid, self.pid, 0)
        except TimeoutError:
            self.abandon()
            raise ForkedWorkFailed(f"no answer within {within} s") from None
        except BaseException:
            self.abandon()
            raise
        if status != 0 or data[:1] != _OK:
            raise ForkedWorkFailed(data[1:].decode(errors="replace") or f"status {status}")
        return data[1:]

    def abandon(self) -> None:
        """Kill and reap a child whose answer is no longer awaited (its pipe is closed by
        the reader, or here if none began)."""
        if not self._reading:
            self._reading = True
            os.close(self._readable)
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


def _child(work: Callable[[], bytes], readable: int, writable: int) -> None:
    status = 0
    try:
        os.close(readable)
        try:
            answer = _OK + work()
        except Exception as error:
            answer, status = _FAILED + type(error).__name__.encode(), 1
        view = memoryview(answer)
        while view:
            view = view[os.write(writable, view) :]
    finally:
        os._exit(status)


def _read_all(readable: int) -> bytes:
    """Up to the end of the pipe, then closed here (a caller cancelled meanwhile leaves it)."""
    chunks = []
    try:
        while chunk := os.read(readable, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(readable)
    return b"".join(chunks)
