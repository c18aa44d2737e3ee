"""Answering a request that carries an Idempotency-Key: once, whichever replica it reaches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from customerhub_shared.http.problems import PROBLEM_TYPES, Problem
from customerhub_shared.idempotency import IdempotencyStore, RequestInProgress, StoredAnswer


async def answer_once(
    store: IdempotencyStore,
    scope: str,
    key: str,
    fingerprint: str,
    *,
    respond: Callable[[], Awaitable[Response]],
    replay: Callable[[StoredAnswer], Response],
) -> Response:
    """`respond()`'s answer if this request is the first with (scope, key), else `replay` of
    the stored first answer; 409 while another request with the key is still running."""
    fresh: Response | None = None

    async def answer() -> StoredAnswer:
        nonlocal fresh
        fresh = await respond()
        return StoredAnswer(fingerprint, fresh.status_code, bytes(fresh.body))

    try:
        stored, replayed = await store.first_answer(scope, key, fingerprint, answer)
    except RequestInProgress as error:
        raise Problem(
            409,
            "Request in progress",
            detail="a request with this Idempotency-Key is still being answered; retry later",
            type=PROBLEM_TYPES + "request-in-progress",
            headers={"Retry-After": "1"},
        ) from error
    if replayed or fresh is None:
        return replay(stored)
    return fresh
