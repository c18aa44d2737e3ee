"""The notification rules: which events notify whom, and on which channels.

- A new customer's main contact (the first one chosen) gets a `welcome` email.
- The contacts on the customer's equipment-alert list get `equipment_assigned` when equipment
  is assigned to the customer.
- A request sends any template to the customer's contacts (or the ones it names).
Every one of them is told only on the channels the template has and the contact opted into.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from customerhub_shared.events import Envelope
from customerhub_shared.events.customer import EquipmentAssigned, MainContactChosen
from notifications.domain.audience import Audience, Contact, EquipmentLabel
from notifications.domain.errors import (
    CustomerMerged,
    CustomerNotNotifiable,
    UnknownContacts,
)
from notifications.domain.reachability import can_receive_sms, is_plausible_email
from notifications.domain.templates import Channel, TemplateSpec

WELCOME = "welcome"
EQUIPMENT_ASSIGNED = "equipment_assigned"
# Statuses whose contacts events still notify (archived customers keep their equipment).
_NOTIFIED = frozenset({"active", "archived"})


@dataclass(frozen=True, slots=True)
class Intent:
    """One notification to send: a template, to some of a customer's contacts, because of a
    cause (an event, or a request) that gives every delivery it makes a stable id."""

    cause_id: UUID
    cause_type: str
    customer_id: UUID
    template: str
    contact_ids: tuple[UUID, ...]
    actor: str
    correlation_id: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A contact on a channel it opted into; `skip_reason` says why it cannot be reached."""

    contact: Contact
    channel: Channel
    address: str | None
    skip_reason: str | None = None


def intents_for_event(
    before: Audience | None,
    after: Audience,
    envelope: Envelope,
    equipment: Mapping[UUID, EquipmentLabel],
) -> list[Intent]:
    """What one customer event causes, judged on the customer as it was before and after."""
    if after.status not in _NOTIFIED:
        return []
    event = envelope.event
    if isinstance(event, MainContactChosen) and event.contact_id is not None:
        if before is not None and before.welcomed:
            return []
        return [_caused(envelope, after, WELCOME, (event.contact_id,))]
    if isinstance(event, EquipmentAssigned) and after.alert_contacts:
        label = equipment.get(event.equipment_id) or EquipmentLabel(equipment_id=event.equipment_id)
        params = {"equipment": label.title(), "serial_number": label.serial_number or ""}
        return [_caused(envelope, after, EQUIPMENT_ASSIGNED, after.alert_contacts, params)]
    return []


def _caused(
    envelope: Envelope,
    audience: Audience,
    template: str,
    contact_ids: tuple[UUID, ...],
    params: Mapping[str, str] | None = None,
) -> Intent:
    return Intent(
        cause_id=envelope.event_id,
        cause_type=envelope.event_type,
        customer_id=audience.customer_id,
        template=template,
        contact_ids=contact_ids,
        actor=envelope.metadata.actor,
        correlation_id=envelope.metadata.correlation_id,
        params=dict(params or {}),
    )


def requested(
    audience: Audience,
    spec: TemplateSpec,
    params: Mapping[str, str],
    contact_ids: Sequence[UUID] | None,
    *,
    request_id: UUID,
    cause_type: str,
    actor: str,
    correlation_id: str | None,
) -> Intent:
    """A request to send a template: to the contacts it names, or to all of them."""
    ensure_notifiable(audience)
    spec.check_params(params)
    if contact_ids is None:
        chosen = tuple(c.contact_id for c in audience.contacts)
    else:
        chosen = tuple(dict.fromkeys(contact_ids))
        unknown = [contact_id for contact_id in chosen if audience.contact(contact_id) is None]
        if unknown:
            raise UnknownContacts(unknown)
    return Intent(
        cause_id=request_id,
        cause_type=cause_type,
        customer_id=audience.customer_id,
        template=spec.name,
        contact_ids=chosen,
        actor=actor,
        correlation_id=correlation_id,
        params=dict(params),
    )


def ensure_notifiable(audience: Audience) -> None:
    if audience.status == "merged" and audience.merged_into is not None:
        raise CustomerMerged(audience.customer_id, audience.merged_into)
    if audience.status not in _NOTIFIED:
        raise CustomerNotNotifiable(audience.customer_id, audience.status)


def recipients(intent: Intent, audience: Audience, spec: TemplateSpec) -> Iterator[Recipient]:
    """Each named contact on each of the template's channels it opted into."""
    for contact_id in intent.contact_ids:
        contact = audience.contact(contact_id)
        if contact is None:
            continue  # removed since: nobody to tell
        for channel in spec.channels:
            if contact.opted_in(channel):
                address = contact.address(channel)
                yield Recipient(contact, channel, address, _unreachable(channel, address))


def _unreachable(channel: Channel, address: str | None) -> str | None:
    if address is None:
        return "no_address"
    if channel == "sms" and not can_receive_sms(address):
        return "not_a_mobile_number"
    if channel == "email" and not is_plausible_email(address):
        return "invalid_address"
    return None
