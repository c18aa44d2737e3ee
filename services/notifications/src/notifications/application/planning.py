"""Turns an intent into deliveries: one per contact and opted-in channel, rendered in the
customer's language, recorded `pending` (or `skipped` with the reason it cannot be sent)."""

from __future__ import annotations

from datetime import datetime

import structlog

from customerhub_shared.tracing import current_traceparent
from notifications.application.metrics import NotificationMetrics
from notifications.application.ports import TemplateBroken, TemplateCatalogue
from notifications.domain import rules
from notifications.domain.audience import Audience
from notifications.domain.deliveries import Delivery

log = structlog.get_logger(__name__)


class DeliveryPlanner:
    def __init__(self, catalogue: TemplateCatalogue, metrics: NotificationMetrics) -> None:
        self.catalogue = catalogue
        self.metrics = metrics

    def plan(
        self, intent: rules.Intent, audience: Audience, *, at: datetime, strict: bool = False
    ) -> list[Delivery]:
        """`strict`: a broken template raises (a request answers 500) instead of being
        recorded as a failed delivery (an event must not stop the consumer)."""
        spec = self.catalogue.spec(intent.template)
        if spec is None:
            log.error("notifications.template_missing", template=intent.template)
            return []
        language = spec.language_for(audience.language)
        params = spec.complete(intent.params)
        planned: list[Delivery] = []
        for recipient in rules.recipients(intent, audience, spec):
            delivery = Delivery.new(
                cause_id=intent.cause_id,
                cause_type=intent.cause_type,
                customer_id=intent.customer_id,
                contact_id=recipient.contact.contact_id,
                channel=recipient.channel,
                template=spec.name,
                language=language,
                actor=intent.actor,
                correlation_id=intent.correlation_id,
                at=at,
                traceparent=current_traceparent(),
            )
            if recipient.skip_reason is not None or recipient.address is None:
                planned.append(delivery.skip(recipient.skip_reason or "no_address"))
                continue
            context = {
                **params,
                "customer_name": audience.name or "",
                "contact_name": recipient.contact.name or "",
            }
            try:
                message = self.catalogue.render(spec, language, recipient.channel, context)
            except TemplateBroken as broken:
                if strict:
                    raise
                log.error("notifications.template_broken", template=spec.name, error=str(broken))
                planned.append(delivery.fail("template_broken", str(broken)))
                continue
            planned.append(delivery.ready(recipient.address, message))
        return planned

    def count_settled(self, deliveries: list[Delivery]) -> None:
        """Count the deliveries that were decided without an attempt (skipped, broken)."""
        for delivery in deliveries:
            if delivery.status in ("skipped", "failed"):
                self.metrics.count(delivery.channel, delivery.status)
