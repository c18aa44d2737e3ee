"""Runs one equipment command for one HTTP request: If-Match, Idempotency-Key, problems, answer.

The same contract as customer-command's commands (README "The API"): a retry with the same
Idempotency-Key (same actor, route and body) returns the first answer, marked
`Idempotent-Replayed: true`; the same key with another body is 422. Commands that had to
answer before the customers' side caught up answer 202 instead of 200.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from customerhub_shared.http.auth import CurrentUser, Principal
from customerhub_shared.http.headers import (
    IdempotencyKey,
    IfMatch,
    parse_idempotency_key,
    parse_if_match,
)
from customerhub_shared.http.idempotency import answer_once
from customerhub_shared.http.problems import PROBLEM_TYPES, Problem
from customerhub_shared.idempotency import StoredAnswer
from equipment.application.context import CommandContext, CommandResult
from equipment.application.handlers import handle
from equipment.entrypoints.http.problems import problem_for
from equipment.entrypoints.http.service import EquipmentService, Service

_REGISTERED_IDS = uuid.UUID("0b6f3f52-7c1e-4d8a-9a55-2f4c8e6d1a90")


@dataclass(frozen=True)
class Call:
    request: Request
    service: EquipmentService
    principal: Principal
    idempotency_key: str | None
    expected_version: int | None

    def context(self) -> CommandContext:
        correlation = getattr(self.request.state, "correlation_id", None) or str(uuid.uuid4())
        return CommandContext(
            actor=self.principal.sub,
            correlation_id=correlation,
            idempotency_key=self.idempotency_key,
            expected_version=self.expected_version,
            causation_id=getattr(self.request.state, "request_id", None),
        )

    def new_equipment_id(self) -> UUID:
        """A retried registration (same Idempotency-Key) names the same item."""
        if self.idempotency_key is None:
            return uuid.uuid4()
        return uuid.uuid5(_REGISTERED_IDS, f"{self.principal.sub}\x1f{self.idempotency_key}")


async def execute(call: Call, command: Any, *, status_code: int = 200) -> Response:
    if call.idempotency_key is None:
        return _answer(await _run(call, command), status_code)
    scope = f"{call.principal.sub}\x1f{call.request.method} {call.request.url.path}"
    fingerprint = await _fingerprint(call.request)

    async def respond() -> Response:
        return _answer(await _run(call, command), status_code)

    async with call.service.key_lock(scope + call.idempotency_key):
        return await answer_once(
            call.service.idempotency,
            scope,
            call.idempotency_key,
            fingerprint,
            respond=respond,
            replay=lambda stored: _replay(stored, fingerprint),
        )


async def _run(call: Call, command: Any) -> CommandResult:
    for name in ("customer_id", "equipment_id"):
        if hasattr(command, name):
            structlog.contextvars.bind_contextvars(**{name: str(getattr(command, name))})
    try:
        return await handle(command, call.context(), call.service.ports)
    except Exception as error:
        problem = problem_for(error)
        if problem is None:
            raise
        raise problem from error


def _answer(result: CommandResult, status_code: int) -> JSONResponse:
    body = {"id": str(result.id), "version": result.version, "position": result.position}
    body.update(result.extra)
    return JSONResponse(
        body,
        status_code=status_code if result.settled else 202,
        headers={"ETag": f'"{result.version}"'},
    )


def _replay(stored: StoredAnswer, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise Problem(
            422,
            "Idempotency-Key reused",
            type=PROBLEM_TYPES + "idempotency-key-reused",
            detail="this Idempotency-Key was already used for a different request",
        )
    version = json.loads(stored.body).get("version")
    return Response(
        stored.body,
        status_code=stored.status,
        media_type="application/json",
        headers={"ETag": f'"{version}"', "Idempotent-Replayed": "true"},
    )


async def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256(await request.body())
    digest.update(request.headers.get("if-match", "").encode())
    return digest.hexdigest()


async def _call(
    request: Request,
    service: Service,
    principal: CurrentUser,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Call:
    return Call(
        request=request,
        service=service,
        principal=principal,
        idempotency_key=parse_idempotency_key(idempotency_key),
        expected_version=parse_if_match(if_match),
    )


UserCall = Annotated[Call, Depends(_call)]
