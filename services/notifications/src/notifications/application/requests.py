"""Use cases of the HTTP edge: send a template on request, read the delivery log."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from notifications.application.planning import DeliveryPlanner
from notifications.application.ports import HistoryCursor, NotificationStore, TemplateCatalogue
from notifications.domain import rules
from notifications.domain.audience import Audience
from notifications.domain.deliveries import REQUEST_CAUSE, Delivery
from notifications.domain.errors import CustomerNotFound, UnknownTemplate
from notifications.domain.templates import TemplateSpec

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


def nothing_to_deliver(audience: Audience, spec: TemplateSpec, chosen: Sequence[UUID]) -> str:
    """Why a request planned no delivery, in words a caller can act on."""
    if not audience.contacts:
        return "the customer has no contacts"
    contacts = [c for c in audience.contacts if c.contact_id in chosen]
    channels = " or ".join(spec.channels)
    if not any(c.opted_in(ch) for c in contacts for ch in spec.channels):
        return f"no chosen contact opted in to {channels}, the channels of {spec.name}"
    return f"no chosen contact that opted in has an address for {channels}"


async def explain_empty(
    command: SendNotification, *, store: NotificationStore, catalogue: TemplateCatalogue
) -> str | None:
    """The reason a request that planned nothing gets in its 202."""
    spec = catalogue.spec(command.template)
    audience = await store.audience(command.customer_id)
    if spec is None or audience is None:
        return None
    chosen = command.contact_ids or tuple(c.contact_id for c in audience.contacts)
    return nothing_to_deliver(audience, spec, chosen)


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
