"""What a command's answer adds from the events it appended, for a retry answered from the
stream (its first attempt appended, then never answered): the same fields as the first
answer would have had."""

from __future__ import annotations

from typing import Any

from customerhub_shared.events import DomainEvent
from customerhub_shared.events.customer import AttachmentAdded, CustomerCreated


def recovered_answer(event: DomainEvent) -> dict[str, Any]:
    if isinstance(event, CustomerCreated):
        return {"customer_number": event.customer_number}
    if isinstance(event, AttachmentAdded):
        return {"content_type": event.content_type, "size": event.size, "sha256": event.sha256}
    return {}
