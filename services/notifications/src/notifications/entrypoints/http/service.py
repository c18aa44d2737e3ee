"""What the routes need, built once by the composition root, and how a route gets it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from customerhub_shared.http.key_locks import KeyLocks
from customerhub_shared.idempotency import IdempotencyStore
from notifications.application.metrics import NotificationMetrics
from notifications.application.planning import DeliveryPlanner
from notifications.application.ports import NotificationStore, TemplateCatalogue


@dataclass
class NotificationService:
    store: NotificationStore
    catalogue: TemplateCatalogue
    planner: DeliveryPlanner
    metrics: NotificationMetrics
    idempotency: IdempotencyStore
    # How long a request waits for the audience to reach a client's `min_position`.
    freshness_timeout: float = 2.0
    # Called once deliveries are recorded: the dispatchers look at once.
    on_deliveries: Callable[[], None] = lambda: None
    # The log position of a customer's last event (None: no such customer), so a request
    # waits until the audience has seen what the client just wrote.
    customer_head: Callable[[UUID], Awaitable[int | None]] | None = None
    _key_locks: KeyLocks = field(default_factory=KeyLocks)

    def key_lock(self, scope_key: str) -> AbstractAsyncContextManager[None]:
        return self._key_locks.hold(scope_key)


async def notification_service(request: Request) -> NotificationService:
    service: NotificationService = request.app.state.notifications
    return service


Service = Annotated[NotificationService, Depends(notification_service)]
