"""Pure CPU work run in forked copies of this process, so a rebuild uses a second core.

A `Worker` is a child forked once that answers request after request (each one's bytes
through a pipe) with a function it set up once, in the child (a connection of its own, say),
until the parent ends it. It uses no event loop, thread, file or log of the parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import threading
from collections.abc import Callable

# Whether work may go to a forked child: fork exists and a second core to run it.
AVAILABLE = hasattr(os, "fork") and (os.cpu_count() or 1) > 1
_OK, _FAILED = b"\x00", b"\x01"
# A request's or an answer's length, before its bytes.
_LENGTH = 8
# Linux's limit for an unprivileged process (/proc/sys/fs/pipe-max-size by default).
_PIPE_SIZE = 1 << 20


class ForkedWorkFailed(RuntimeError):
    """The work raised in the child (only the error's type is told: its message could hold
    the data the work was on)."""


class Worker:
    """A forked child answering requests one at a time with `serve`, which `setup()` made
    in the child (a connection of its own, say), until the parent ends it."""

    def __init__(self, pid: int, requests: int, answers: int) -> None:
        self.pid, self._requests, self._answers = pid, requests, answers
        self._lock = threading.Lock()
        self._asking = self._ended = False

    @classmethod
    def start(cls, setup: Callable[[], Callable[[bytes], bytes]]) -> Worker:
        """A worker forked now (it sets up on its first request)."""
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        _widened(requests_write)
        _widened(answers_write)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child, measured by the parent's tests
            os.close(requests_write)
            os.close(answers_read)
            _serve(setup, requests_read, answers_write)
        os.close(requests_read)
        os.close(answers_write)
        return cls(pid, requests_write, answers_read)

    async def ask(self, request: bytes, *, within: float | None = None) -> memoryview:
        """The answer to `request`; ForkedWorkFailed if serving it raised (the worker has
        then ended), the worker died, or no answer came `within` seconds. Cancelled, or
        failed, the worker is ended."""
        try:
            async with asyncio.timeout(within):
                answer = await asyncio.to_thread(self._round_trip, request)
        except TimeoutError:
            self.end()
            raise ForkedWorkFailed(f"no answer within {within} s") from None
        except BaseException:
            self.end()
            raise
        if answer[:1] != _OK:
            self.end()
            raise ForkedWorkFailed(answer[1:].decode(errors="replace"))
        return memoryview(answer)[1:]

    def end(self) -> None:
        """Kill and reap the worker (it keeps nothing worth a goodbye); its pipes are closed
        here, or by a round trip still under way once it returns."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            close_here = not self._asking
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        if close_here:
            self._close_pipes()

    def _round_trip(self, request: bytes) -> bytearray:
        with self._lock:
            if self._ended:
                raise ForkedWorkFailed("ended")
            self._asking = True
        try:
            _write_all(self._requests, len(request).to_bytes(_LENGTH, "big") + request)
            head = _read_exactly(self._answers, 1 + _LENGTH)
            answer = bytearray(1 + int.from_bytes(head[1:], "big"))
            answer[0] = head[0]
            _read_into(self._answers, memoryview(answer)[1:])
            return answer
        except OSError:  # the worker died (a broken pipe)
            raise ForkedWorkFailed("the worker ended") from None
        finally:
            with self._lock:
                self._asking = False
                close_here = self._ended
            if close_here:
                self._close_pipes()

    def _close_pipes(self) -> None:
        for fd in (self._requests, self._answers):
            with contextlib.suppress(OSError):
                os.close(fd)


def _serve(
    setup: Callable[[], Callable[[bytes], bytes]], requests: int, answers: int
) -> None:  # pragma: no cover - the child, measured by the parent's tests
    status = 0
    try:
        serve: Callable[[bytes], bytes] | None = None
        while head := _read_upto(requests, _LENGTH):
            request = _read_exactly(requests, int.from_bytes(head, "big"))
            try:
                serve = serve or setup()
                answer = _OK + serve(request)
            except Exception as error:
                answer, status = _FAILED + type(error).__name__.encode(), 1
            _write_all(answers, answer[:1] + (len(answer) - 1).to_bytes(_LENGTH, "big"))
            _write_all(answers, memoryview(answer)[1:])
            if status:
                break
    finally:
        os._exit(status)


def _widened(pipe: int) -> None:
    """The pipe's buffer as large as an unprivileged process may make it: a worker's answer
    of megabytes then crosses in fewer turns of the two processes."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


def _read_into(readable: int, view: memoryview) -> None:
    while view:
        read = os.readv(readable, [view])
        if not read:
            raise ForkedWorkFailed("the worker ended")
        view = view[read:]


def _write_all(writable: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(writable, view) :]


def _read_upto(readable: int, size: int) -> bytes:
    """`size` bytes, or b"" at the end of the pipe before the first."""
    first = os.read(readable, size)
    return first + _read_exactly(readable, size - len(first)) if first else b""


def _read_exactly(readable: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(readable, min(left, 1 << 20))
        if not chunk:
            raise ForkedWorkFailed("the worker ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
