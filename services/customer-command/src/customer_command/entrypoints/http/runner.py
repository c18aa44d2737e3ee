"""Runs one command for one HTTP request: If-Match, Idempotency-Key, problems, the answer."""

import hashlib
import json
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

import orjson
import structlog
from fastapi import Depends, Request
from fastapi.responses import Response

from customer_command.adapters.repository import customer_stream, idempotent_event_id
from customer_command.application.commands import CustomerCommand
from customer_command.application.context import CommandContext, CommandResult
from customer_command.application.handlers import CustomerPorts, handle
from customer_command.application.recovery import recovered_answer
from customer_command.entrypoints.http.problems import PROBLEMS, problem_for
from customerhub_shared.eventstore import ConcurrencyConflict, DuplicateEventId
from customerhub_shared.http.auth import AdminUser, CurrentUser, Principal
from customerhub_shared.http.headers import (
    IdempotencyKey,
    IfMatch,
    parse_idempotency_key,
    parse_if_match,
)
from customerhub_shared.http.idempotency import answer_once
from customerhub_shared.http.key_locks import KeyLocks
from customerhub_shared.http.problems import Problem
from customerhub_shared.idempotency import IdempotencyStore, StoredAnswer
from customerhub_shared.ids import new_uuid

_CREATED_IDS = uuid.UUID("a8d5e0f4-8f51-4a63-9a3a-0c9f7d2b1e47")


@dataclass
class CommandService:
    """What the routes of customer-command need; built once by the composition root."""

    ports: CustomerPorts
    idempotency: IdempotencyStore
    attachment_max_bytes: int = 26_214_400
    _key_locks: KeyLocks = field(default_factory=KeyLocks)

    def key_lock(self, scope_key: str) -> AbstractAsyncContextManager[None]:
        return self._key_locks.hold(scope_key)


async def command_service(request: Request) -> CommandService:
    service: CommandService = request.app.state.customer_command
    return service


Service = Annotated[CommandService, Depends(command_service)]


@dataclass(frozen=True)
class RequestContext:
    request: Request
    service: CommandService
    principal: Principal
    idempotency_key: str | None
    expected_version: int | None

    @property
    def operation(self) -> str:
        return f"{self.request.method} {self.request.url.path}"

    def command_context(self) -> CommandContext:
        correlation = getattr(self.request.state, "correlation_id", None) or str(new_uuid())
        return CommandContext(
            actor=self.principal.sub,
            correlation_id=correlation,
            idempotency_key=self.idempotency_key,
            operation=self.operation,
            expected_version=self.expected_version,
            causation_id=getattr(self.request.state, "request_id", None),
        )

    def new_customer_id(self) -> UUID:
        """A retried create (same Idempotency-Key) names the same customer."""
        if self.idempotency_key is None:
            return new_uuid()
        return uuid.uuid5(_CREATED_IDS, f"{self.principal.sub}\x1f{self.idempotency_key}")

    def new_child_id(self, customer_id: UUID, kind: str) -> UUID:
        if self.idempotency_key is None:
            return new_uuid()
        return uuid.uuid5(customer_id, f"{kind}\x1f{self.principal.sub}\x1f{self.idempotency_key}")


async def execute(
    rc: RequestContext,
    command: CustomerCommand,
    *,
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
    fingerprint: str | None = None,
) -> Response:
    """`fingerprint` stands for the request's body where the route has parsed a multipart
    body (its bytes cannot be read twice)."""
    if rc.idempotency_key is None:
        return _answer(await _run(rc, command), status_code, extra)
    scope = f"{rc.principal.sub}\x1f{rc.operation}"
    fingerprint = fingerprint or await _fingerprint(rc.request)

    async def respond() -> Response:
        return _answer(await _run(rc, command), status_code, extra)

    async with rc.service.key_lock(scope + rc.idempotency_key):
        return await answer_once(
            rc.service.idempotency,
            scope,
            rc.idempotency_key,
            fingerprint,
            respond=respond,
            replay=lambda stored: _replay(stored, fingerprint),
        )


async def _run(rc: RequestContext, command: CustomerCommand) -> CommandResult:
    ctx = rc.command_context()
    structlog.contextvars.bind_contextvars(customer_id=str(command.customer_id))
    try:
        return await handle(command, ctx, rc.service.ports)
    except (ConcurrencyConflict, DuplicateEventId) as error:
        recovered = await _recover(rc, ctx, command.customer_id)
        if recovered is not None:
            return recovered
        raise _as_problem(error) from error
    except Exception as error:
        raise _as_problem(error) from error


def _as_problem(error: Exception) -> Exception:
    return problem_for(error) or error


async def _recover(
    rc: RequestContext, ctx: CommandContext, customer_id: UUID
) -> CommandResult | None:
    """A retry whose first attempt appended but never answered: answer from the stream, with
    the events this very request (actor, operation, key) appended, found by their ids."""
    if ctx.idempotency_key is None:
        return None
    stream = customer_stream(customer_id)
    history = await rc.service.ports.customers.writer.read(stream, key_subject=customer_id)
    first = idempotent_event_id(ctx, stream, 0)
    start = next((i for i, envelope in enumerate(history) if envelope.event_id == first), None)
    if start is None:
        return None
    mine = [history[start]]
    for n, envelope in enumerate(history[start + 1 :], start=1):
        if envelope.event_id != idempotent_event_id(ctx, stream, n):
            break
        mine.append(envelope)
    last = mine[-1]
    extra = {k: v for e in mine for k, v in recovered_answer(e.event).items()}
    return CommandResult(customer_id, last.revision + 1, last.position, extra)


def _answer(result: CommandResult, status_code: int, extra: dict[str, Any] | None) -> Response:
    body = {"id": str(result.id), "version": result.version, "position": result.position}
    body.update(extra or {})
    body.update(result.extra)
    # The bytes JSONResponse renders (compact, UTF-8), by orjson.
    return Response(
        orjson.dumps(body),
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": f'"{result.version}"'},
    )


def _replay(stored: StoredAnswer, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise Problem(
            status=422,
            title="Idempotency-Key reused",
            type=PROBLEMS + "idempotency-key-reused",
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


def _request_context(role: Any) -> Any:
    async def dependency(
        request: Request,
        service: Service,
        principal: role,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> RequestContext:
        return RequestContext(
            request=request,
            service=service,
            principal=principal,
            idempotency_key=parse_idempotency_key(idempotency_key),
            expected_version=parse_if_match(if_match),
        )

    return dependency


UserCall = Annotated[RequestContext, Depends(_request_context(CurrentUser))]
AdminCall = Annotated[RequestContext, Depends(_request_context(AdminUser))]


async def _plain_user_call(
    request: Request, service: Service, principal: CurrentUser
) -> RequestContext:
    """For routes that run many commands: no If-Match or Idempotency-Key applies to them all."""
    return RequestContext(
        request=request,
        service=service,
        principal=principal,
        idempotency_key=None,
        expected_version=None,
    )


PlainUserCall = Annotated[RequestContext, Depends(_plain_user_call)]
