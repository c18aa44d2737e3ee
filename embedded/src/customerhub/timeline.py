"""The notification service's delivery log, offered to customer-query's timeline.

Composition roots that hold both services wire it; the services stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from customer_query.domain.instants import instant_text
from notifications.application.ports import NotificationStore


@dataclass(frozen=True)
class SentDeliveries:
    store: NotificationStore

    async def sent(self, customer_id: UUID, *, limit: int) -> list[dict[str, Any]]:
        deliveries = await self.store.history(customer_id, limit=limit)
        return [
            {
                "activity_id": str(delivery.id),
                "kind": "notification",
                "text": f"{delivery.template} by {delivery.channel}",
                "occurred_at": instant_text(delivery.sent_at),
                "by": delivery.actor,
                "channel": delivery.channel,
                "template": delivery.template,
            }
            for delivery in deliveries
            if delivery.status == "sent" and delivery.sent_at is not None
        ]
