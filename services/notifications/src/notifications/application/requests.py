"""Use cases of the HTTP edge: send a template on request, read the delivery log."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from notifications.application.planning import DeliveryPlanner
from notifications.application.ports import HistoryCursor, NotificationStore, TemplateCatalogue
from notifications.domain import rules
from notifications.domain.deliveries import REQUEST_CAUSE, Delivery
from notifications.domain.errors import CustomerNotFound, UnknownTemplate

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class SendNotification:
    customer_id: UUID
    template: str
    params: Mapping[str, str]
    contact_ids: tuple[UUID, ...] | None
    # Derived from the Idempotency-Key when there is one, so a retry names the same deliveries.
    request_id: UUID
    actor: str
    correlation_id: str | None = None


async def send_notification(
    command: SendNotification,
    *,
    store: NotificationStore,
    catalogue: TemplateCatalogue,
    planner: DeliveryPlanner,
    clock: Clock = lambda: datetime.now(UTC),
) -> list[Delivery]:
    """Record a delivery per contact and opted-in channel; answer them as the log has them."""
    spec = catalogue.spec(command.template)
    if spec is None:
        raise UnknownTemplate(command.template, catalogue.names())
    audience = await store.audience(command.customer_id)
    if audience is None:
        raise CustomerNotFound(command.customer_id)
    intent = rules.requested(
        audience,
        spec,
        command.params,
        command.contact_ids,
        request_id=command.request_id,
        cause_type=REQUEST_CAUSE,
        actor=command.actor,
        correlation_id=command.correlation_id,
    )
    planned = planner.plan(intent, audience, at=clock(), strict=True)
    # A retried request finds its deliveries recorded already, maybe sent: answer those.
    known = {d.id: d for d in await store.deliveries([delivery.id for delivery in planned])}
    new = [delivery for delivery in planned if delivery.id not in known]
    await store.add(new)
    planner.count_settled(new)
    return [known.get(delivery.id, delivery) for delivery in planned]


async def delivery_history(
    store: NotificationStore,
    customer_id: UUID,
    *,
    limit: int,
    after: HistoryCursor | None = None,
) -> tuple[Sequence[Delivery], HistoryCursor | None]:
    """A page of the customer's deliveries, newest first, and the cursor of the next page."""
    page = await store.history(customer_id, limit=limit + 1, after=after)
    if len(page) <= limit:
        return page, None
    last = page[limit - 1]
    return page[:limit], HistoryCursor(last.created_at.timestamp(), str(last.id))
