"""The equipment view: an item's document, its ownership periods and its search terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from customerhub_shared.events import Envelope, EventMetadata
from customerhub_shared.events.equipment import (
    EquipmentDetailsChanged,
    EquipmentEvent,
    EquipmentOwnerChanged,
    EquipmentRegistered,
)
from customerhub_shared.readstore import Document
from equipment.domain.terms import query_prefixes
from equipment.domain.view import EquipmentView, public

VIEW = EquipmentView()
START = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def fold(events: list[EquipmentEvent], actors: list[str] | None = None) -> Document:
    document: Document | None = None
    for n, event in enumerate(events):
        actor = actors[n] if actors else "alice"
        envelope = Envelope(
            event_id=uuid4(),
            event_type=event.type_name,
            stream=f"equipment-{event.equipment_id}",
            revision=n,
            position=100 + n,
            recorded_at=START + timedelta(minutes=n),
            metadata=EventMetadata(actor=actor, correlation_id="c", occurred_at=START),
            event=event,
        )
        document = VIEW.apply(document, envelope)
    assert document is not None
    return document


def owner_changed(
    item: UUID, previous: UUID | None, new: UUID | None, reason: str
) -> EquipmentEvent:
    return EquipmentOwnerChanged.model_validate(
        {"equipment_id": item, "previous_owner": previous, "new_owner": new, "reason": reason}
    )


def test_each_owner_has_a_period_with_who_when_and_why() -> None:
    item, a, b = uuid4(), uuid4(), uuid4()
    document = fold(
        [
            EquipmentRegistered(equipment_id=item, name="Chaudière"),
            owner_changed(item, None, a, "assigned"),
            owner_changed(item, a, b, "transferred"),
            owner_changed(item, b, None, "unassigned"),
        ],
        actors=["alice", "bob", "carol", "dave"],
    )
    assert document["owner_id"] is None
    first, second = document["ownership"]
    assert (first["customer_id"], first["began"], first["ended"]) == (
        str(a),
        "assigned",
        "transferred",
    )
    assert (first["assigned_by"], first["released_by"]) == ("bob", "carol")
    assert first["until"] == second["since"] == "2026-03-03T12:02:00.000000Z"
    assert (second["customer_id"], second["ended"], second["released_by"]) == (
        str(b),
        "unassigned",
        "dave",
    )
    assert document["version"] == 4 and document["position"] == 103


def test_the_current_owner_has_an_open_period() -> None:
    item, a = uuid4(), uuid4()
    document = fold(
        [
            EquipmentRegistered(equipment_id=item, name="Pompe"),
            owner_changed(item, None, a, "assigned"),
        ]
    )
    assert document["owner_id"] == str(a)
    assert document["ownership"][-1]["until"] is None


def test_name_reference_and_serial_are_searchable_without_case_or_accents() -> None:
    item = uuid4()
    document = fold(
        [
            EquipmentRegistered(
                equipment_id=item, name="Chaudière murale", reference="REF-77", serial_number="x1"
            ),
            EquipmentDetailsChanged(
                equipment_id=item, changed=("serial_number",), serial_number="SN-2024-0042"
            ),
        ]
    )
    for typed in ("chaudiere", "MUR", "ref-77", "ref77", "sn-2024", "sn20240", "0042"):
        prefixes = query_prefixes(typed)
        assert all(
            any(term.startswith(p) for term in document["search_terms"]) for p in prefixes
        ), typed
    assert "x1" not in document["search_terms"]
    assert document["sort_name"] == "chaudiere murale"
    assert "search_terms" not in public(document)
