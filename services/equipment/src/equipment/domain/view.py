"""The equipment view: one JSON document per item, with its ownership history, folded from
its events.

`apply` is pure and never fails. Owners appear by customer id only: an item's history keeps
no personal data, so anonymising a customer leaves it whole.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import singledispatch
from uuid import UUID

from customerhub_shared.events import Envelope
from customerhub_shared.events.equipment import (
    EQUIPMENT_DETAIL_FIELDS,
    EquipmentDetailsChanged,
    EquipmentEvent,
    EquipmentLocated,
    EquipmentOwnerChanged,
    EquipmentRegistered,
)
from customerhub_shared.readstore import Document
from equipment.domain import terms

STREAM_PREFIX = "equipment-"
# Fields only the read store and the queries use; never part of an answer.
INTERNAL_FIELDS = frozenset({"_id", "_version", "search_terms", "sort_name"})


class EquipmentView:
    """The `equipment` projection: handles `equipment-<uuid>` streams, one document each."""

    name = "equipment"

    def handles(self, stream: str) -> bool:
        if not stream.startswith(STREAM_PREFIX):
            return False
        try:
            UUID(stream.removeprefix(STREAM_PREFIX))
        except ValueError:
            return False
        return True

    def key_subject(self, stream: str) -> UUID | None:
        return None  # no personal data, no key

    def document_id(self, stream: str) -> str:
        return stream.removeprefix(STREAM_PREFIX)

    def apply(self, document: Document | None, envelope: Envelope) -> Document | None:
        return self.fold(document, [envelope])

    def fold(self, document: Document | None, envelopes: Sequence[Envelope]) -> Document | None:
        """The document after these events: copied once, search terms computed once."""
        item: Document | None = None
        for envelope in envelopes:
            event = envelope.event
            if not isinstance(event, EquipmentEvent):
                continue
            if item is None:
                item = copy.deepcopy(document) if document else blank_item(event.equipment_id)
            _when(event, item, envelope)
            at, actor = instant_text(envelope.recorded_at), envelope.metadata.actor
            if item["created_at"] is None:
                item["created_at"], item["created_by"] = at, actor
            item["updated_at"], item["updated_by"] = at, actor
            item["version"], item["position"] = envelope.revision + 1, envelope.position
        if item is None:
            return document
        item["sort_name"] = " ".join(terms.words(item["name"]))
        item["search_terms"] = sorted(
            {
                *terms.words(item["name"]),
                *terms.code_terms(item["reference"]),
                *terms.code_terms(item["serial_number"]),
            }
        )
        return item


def blank_item(equipment_id: UUID) -> Document:
    return {
        "id": str(equipment_id),
        **dict.fromkeys(EQUIPMENT_DETAIL_FIELDS),
        "owner_id": None,
        "ownership": [],
        "location_id": None,
        "placements": [],
        "created_at": None,
        "created_by": None,
        "updated_at": None,
        "updated_by": None,
        "version": 0,
        "position": None,
    }


def instant_text(moment: datetime) -> str:
    """UTC with microseconds, as the customers view writes instants: text order is time order."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def public(document: Document) -> Document:
    return {name: value for name, value in document.items() if name not in INTERNAL_FIELDS}


@singledispatch
def _when(event: EquipmentEvent, item: Document, envelope: Envelope) -> None:
    """An event this view does not show changes nothing but the stamp."""


@_when.register
def _registered(event: EquipmentRegistered, item: Document, envelope: Envelope) -> None:
    for name in EQUIPMENT_DETAIL_FIELDS:
        item[name] = getattr(event, name)


@_when.register
def _details_changed(event: EquipmentDetailsChanged, item: Document, envelope: Envelope) -> None:
    for name in event.changed:
        if name in EQUIPMENT_DETAIL_FIELDS:
            item[name] = getattr(event, name)


@_when.register
def _owner_changed(event: EquipmentOwnerChanged, item: Document, envelope: Envelope) -> None:
    """Each owner has one period: who, since when, until when, given and taken by whom, why."""
    at, actor = instant_text(envelope.recorded_at), envelope.metadata.actor
    periods = item["ownership"]
    if periods and periods[-1]["until"] is None:
        periods[-1].update(until=at, released_by=actor, ended=event.reason)
    if event.new_owner is not None:
        periods.append(
            {
                "customer_id": str(event.new_owner),
                "since": at,
                "until": None,
                "assigned_by": actor,
                "released_by": None,
                "began": event.reason,
                "ended": None,
            }
        )
    item["owner_id"] = str(event.new_owner) if event.new_owner else None
    item["location_id"] = None


@_when.register
def _located(event: EquipmentLocated, item: Document, envelope: Envelope) -> None:
    location_id = str(event.location_id) if event.location_id else None
    item["location_id"] = location_id
    item.setdefault("placements", []).append(
        {
            "location_id": location_id,
            "customer_id": str(event.owner_id),
            "since": instant_text(envelope.recorded_at),
            "by": envelope.metadata.actor,
        }
    )
