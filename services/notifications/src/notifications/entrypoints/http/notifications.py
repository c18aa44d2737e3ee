"""Routes: send a template to a customer's contacts, read the delivery log and the metrics.

Each route parses, calls one use case and shapes the answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import uuid
from typing import Annotated
from uuid import UUID

import structlog
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from customerhub_shared.http.auth import CurrentUser, Principal
from customerhub_shared.http.headers import POSITION_PATTERN, IdempotencyKey, parse_idempotency_key
from customerhub_shared.http.idempotency import answer_once
from customerhub_shared.http.openapi import answer_headers, problem_responses
from customerhub_shared.http.problems import PROBLEM_TYPES, Problem
from customerhub_shared.idempotency import StoredAnswer
from notifications.application.ports import HistoryCursor
from notifications.application.requests import (
    SendNotification,
    delivery_history,
    explain_empty,
    send_notification,
)
from notifications.domain.deliveries import Delivery
from notifications.domain.errors import NotificationRefused
from notifications.entrypoints.http import schemas
from notifications.entrypoints.http.problems import behind, problem_for
from notifications.entrypoints.http.service import NotificationService, Service

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

_REQUEST_IDS = uuid.UUID("6c0e9d0a-7b7e-4c55-8f0e-2f4f8a1d3b62")
_MAX_POSITION = 2**63 - 1
_POLL_SECONDS = 0.02

MinPosition = Annotated[
    int | None,
    Query(ge=0, le=_MAX_POSITION, description="Answer once the service has seen this position"),
]


@router.post(
    "",
    status_code=202,
    summary="Send a template to a customer's contacts, on the channels each opted into",
    response_model=schemas.NotificationAccepted,
    name="send_notification",
    responses={
        **answer_headers(202, "Location", "Idempotent-Replayed"),
        **problem_responses(
            404,
            409,
            422,
            503,
            s404="Unknown customer",
            s409="Customer merged, anonymised or deleted",
            s422="Unknown template or contact, missing or unexpected parameters",
            s503="The service has not seen min_position yet",
        ),
    },
)
async def post_notification(
    body: schemas.NotificationRequest,
    request: Request,
    service: Service,
    principal: CurrentUser,
    min_position: MinPosition = None,
    x_min_position: Annotated[
        str | None,
        Header(description="Same as min_position", json_schema_extra={"pattern": POSITION_PATTERN}),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    structlog.contextvars.bind_contextvars(customer_id=str(body.customer_id))
    head = await service.customer_head(body.customer_id) if service.customer_head else None
    wanted = [p for p in (_wanted(min_position, x_min_position), head) if p is not None]
    await _wait_for(service, max(wanted, default=None))
    key = parse_idempotency_key(idempotency_key)
    if key is None:
        return await _send(service, body, request, principal, uuid.uuid4())
    scope = f"{principal.sub}\x1fPOST /v1/notifications"
    fingerprint = hashlib.sha256(await request.body()).hexdigest()
    # The same key names the same request, so even a crash before the answer was kept
    # gives the retry the deliveries already recorded instead of new ones.
    request_id = uuid.uuid5(_REQUEST_IDS, f"{principal.sub}\x1f{key}")

    async def respond() -> Response:
        return await _send(service, body, request, principal, request_id)

    async with service.key_lock(scope + "\x1f" + key):
        return await answer_once(
            service.idempotency,
            scope,
            key,
            fingerprint,
            respond=respond,
            replay=lambda stored: _replayed(stored, fingerprint),
        )


async def _send(
    service: NotificationService,
    body: schemas.NotificationRequest,
    request: Request,
    principal: Principal,
    request_id: UUID,
) -> JSONResponse:
    command = SendNotification(
        customer_id=body.customer_id,
        template=body.template,
        params=body.params,
        contact_ids=tuple(body.contact_ids) if body.contact_ids is not None else None,
        request_id=request_id,
        actor=principal.sub,
        correlation_id=getattr(request.state, "correlation_id", None),
    )
    try:
        deliveries = await send_notification(
            command, store=service.store, catalogue=service.catalogue, planner=service.planner
        )
    except NotificationRefused as refused:
        raise problem_for(refused) from refused
    service.on_deliveries()
    why = None
    if not deliveries:
        why = await explain_empty(command, store=service.store, catalogue=service.catalogue)
    accepted = schemas.NotificationAccepted(
        customer_id=body.customer_id,
        request_id=request_id,
        template=body.template,
        delivery_ids=[delivery.id for delivery in deliveries],
        deliveries=[_summary(delivery) for delivery in deliveries],
        nothing_to_deliver=why,
    )
    location = f"/v1/notifications?customer_id={body.customer_id}"
    return JSONResponse(
        accepted.model_dump(mode="json"), status_code=202, headers={"Location": location}
    )


def _summary(delivery: Delivery) -> schemas.DeliverySummary:
    return schemas.DeliverySummary(
        id=delivery.id,
        contact_id=delivery.contact_id,
        channel=delivery.channel,
        status=delivery.status,
        reason=delivery.reason,
    )


@router.get(
    "",
    summary="The delivery log of a customer, newest first",
    response_model=schemas.DeliveryPage,
    responses=problem_responses(400, s400="An invalid cursor"),
)
async def list_deliveries(
    service: Service,
    _user: CurrentUser,
    customer_id: UUID,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> schemas.DeliveryPage:
    structlog.contextvars.bind_contextvars(customer_id=str(customer_id))
    page, following = await delivery_history(
        service.store, customer_id, limit=limit, after=_parse_cursor(cursor)
    )
    return schemas.DeliveryPage(
        items=[schemas.DeliveryOut.of(delivery) for delivery in page],
        next_cursor=None if following is None else _cursor(following),
    )


@router.get(
    "/metrics",
    summary="Messages sent, failed, retried and skipped per channel, since this process started",
    response_model=schemas.NotificationMetricsOut,
)
async def get_notification_metrics(
    service: Service, _user: CurrentUser
) -> schemas.NotificationMetricsOut:
    return schemas.NotificationMetricsOut.model_validate(service.metrics.snapshot())


@router.get(
    "/{delivery_id}",
    summary="One entry of the delivery log",
    response_model=schemas.DeliveryOut,
    responses=problem_responses(404, s404="Unknown delivery"),
)
async def get_delivery(
    delivery_id: UUID, service: Service, _user: CurrentUser
) -> schemas.DeliveryOut:
    found = await service.store.deliveries([delivery_id])
    if not found:
        raise Problem(
            404,
            "Delivery not found",
            detail=f"there is no delivery {delivery_id}",
            type=PROBLEM_TYPES + "delivery-not-found",
        )
    return schemas.DeliveryOut.of(found[0])


# -- helpers ---------------------------------------------------------------------------------


def _wanted(min_position: int | None, header: str | None) -> int | None:
    candidates = [min_position] if min_position is not None else []
    if header is not None:
        text = header.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            raise Problem(
                400,
                "Bad X-Min-Position header",
                detail="X-Min-Position must be a non-negative integer log position",
                type=PROBLEM_TYPES + "bad-min-position",
            )
        candidates.append(int(text))
    return max(candidates, default=None)


async def _wait_for(service: NotificationService, wanted: int | None) -> None:
    """Read your writes: a customer just created is known here once the consumer saw it."""
    if wanted is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + service.freshness_timeout
    while (reached := await service.store.consumer_position() or 0) < wanted:
        if loop.time() >= deadline:
            raise behind(wanted, reached)
        await asyncio.sleep(_POLL_SECONDS)


def _replayed(stored: StoredAnswer, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise Problem(
            422,
            "Idempotency-Key reused",
            detail="this Idempotency-Key was already used for a different request",
            type=PROBLEM_TYPES + "idempotency-key-reused",
        )
    return Response(
        stored.body,
        status_code=stored.status,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def _cursor(cursor: HistoryCursor) -> str:
    raw = json.dumps([cursor.created_at, cursor.delivery_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(value: str | None) -> HistoryCursor | None:
    if value is None:
        return None
    try:
        created_at, delivery_id = json.loads(
            base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        )
        return HistoryCursor(float(created_at), str(uuid.UUID(str(delivery_id))))
    except (ValueError, TypeError, binascii.Error) as error:
        raise Problem(
            400,
            "Invalid cursor",
            detail="cursor must be the next_cursor of a previous page",
            type=PROBLEM_TYPES + "invalid-cursor",
        ) from error
