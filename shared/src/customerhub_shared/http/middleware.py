"""Pure ASGI middleware every service runs: a correlation id per request, a body size limit,
a time limit on receiving the body."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from customerhub_shared.http.problems import (
    CORRELATION_HEADER,
    REQUEST_ID_HEADER,
    problem_response,
    status_problem,
)
from customerhub_shared.ids import new_uuid
from customerhub_shared.logging import filtered_out

_SANE_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

log = structlog.get_logger(__name__)


class CorrelationMiddleware:
    """Gives each request a correlation id (the caller's if sane) and an id of its own (the
    causation id of the events it appends), binds both for logging, echoes both in the answer,
    and logs `request.completed` without query string or bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = _incoming_correlation_id(scope) or str(new_uuid())
        request_id = str(new_uuid())
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id, request_id=request_id)
        # Starlette's `request.state` is a view of scope["state"].
        state = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id
        state["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_correlation(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[CORRELATION_HEADER] = correlation_id
                headers[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_correlation)
        finally:
            _log_completed(scope, status, started)


class BodySizeLimitMiddleware:
    """Answers 413 to a body over `max_bytes`, judged by Content-Length and by bytes received."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        path_limits: Mapping[str, int] | None = None,
        pattern_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Uploads (an imported customer list, an attachment) may be larger than a JSON body;
        # `pattern_limits` are for paths with ids in them (regular expressions, whole path).
        self.path_limits = dict(path_limits or {})
        self.pattern_limits = [
            (re.compile(pattern), limit) for pattern, limit in (pattern_limits or {}).items()
        ]

    def _limit(self, path: str) -> int:
        if path in self.path_limits:
            return self.path_limits[path]
        for pattern, limit in self.pattern_limits:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        await self._stream_within_limit(scope, receive, send, limit)

    async def _stream_within_limit(
        self, scope: Scope, receive: Receive, send: Send, limit: int
    ) -> None:
        received = 0
        answered = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if answered:
                raise
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        state = scope.get("state") or {}
        response = problem_response(
            status_problem(413, _too_large_detail(limit)),
            instance=scope.get("path"),
            correlation_id=state.get("correlation_id"),
        )
        await response(scope, receive, send)


class BodyTimeoutMiddleware:
    """Answers 408 when the request body stops arriving for `seconds`: a client that
    announces a body and never sends it must not hold a connection (and a worker) for ever."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:  # later calls only wait for a disconnect: no limit on those
                return await receive()
            try:
                async with asyncio.timeout(self.seconds):  # no task of its own, as wait_for has
                    message = await receive()
            except TimeoutError:
                raise BodyTimedOut(self.seconds) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)


class BodyTimedOut(HTTPException):
    """Raised from `receive`, an HTTPException for the same reason as BodyTooLarge."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408,
            f"the request body did not arrive within {seconds:g} s",
            headers={"Connection": "close"},
        )


class BodyTooLarge(HTTPException):
    """Raised from `receive`: an HTTPException because FastAPI turns any other error raised
    while reading a body into a 400, and lets this one reach the problem handlers."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large_detail(max_bytes))


def _too_large_detail(max_bytes: int) -> str:
    return f"the request body exceeds the limit of {max_bytes} bytes"


def _incoming_correlation_id(scope: Scope) -> str | None:
    candidate = Headers(scope=scope).get(CORRELATION_HEADER)
    if candidate is not None and _SANE_CORRELATION_ID.match(candidate):
        return candidate
    return None


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _log_completed(scope: Scope, status: int, started: float) -> None:
    if filtered_out(__name__, logging.INFO):  # a level above INFO: the event goes nowhere
        return
    route = scope.get("route")
    log.info(
        "request.completed",
        method=scope["method"],
        # The route template, never the raw path: paths and query strings may carry identifiers.
        route=getattr(route, "path", None),
        status=status,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
