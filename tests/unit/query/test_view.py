"""The customers view folds every customer event into one JSON document, and never fails."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from customer_query.domain.view import CustomerView, public
from customerhub_shared.events import DomainEvent, default_registry
from customerhub_shared.events.customer import (
    CUSTOMER_EVENTS,
    ActivityRecorded,
    AttachmentAdded,
    AttachmentRemoved,
    ContactAdded,
    ContactChanged,
    ContactRemoved,
    ContactSnapshot,
    CustomerAnonymised,
    CustomerArchived,
    CustomerConvertedToCompany,
    CustomerDeleted,
    CustomerDetailsChanged,
    CustomerEvent,
    CustomerLabelAdded,
    CustomerLabelRemoved,
    CustomerMergedInto,
    CustomerNameReleased,
    CustomerReactivated,
    CustomerRoleAdded,
    DocumentLinked,
    DocumentUnlinked,
    DuplicatesMerged,
    EmployeeAssigned,
    EmployeeUnassigned,
    EquipmentAssigned,
    EquipmentUnassigned,
    GeoPoint,
    LocationAdded,
    LocationChanged,
    LocationRemoved,
    LocationSnapshot,
    MainContactChosen,
    MainLocationChosen,
    NotifyChannels,
    ProspectConvertedToCustomer,
    RelationAdded,
    RelationRemoved,
)
from tests.unit.query.builders import Stream, created, envelope, project


def a_customer(**overrides: Any) -> tuple[UUID, Stream]:
    event = created(**overrides)
    return event.customer_id, Stream().record(event)


def test_created_customer_has_every_field_and_its_stamp() -> None:
    customer_id, stream = a_customer(discount_percent=Decimal("12.5"), custom_fields={"a": 1})
    customer = stream.view()
    assert customer["id"] == str(customer_id)
    assert customer["name"] == "Boulangerie Martin"
    assert customer["status"] == "active"
    assert customer["roles"] == ["prospect"] and customer["labels"] == ["vip"]
    assert customer["discount_percent"] == "12.5"
    assert customer["custom_fields"] == {"a": 1}
    assert customer["segment"] == "other" and customer["language"] == "fr"
    assert customer["version"] == 1 and customer["position"] == 101
    assert customer["created_by"] == customer["updated_by"] == "alice"
    assert customer["created_at"] == "2026-03-01T09:00:00.000000Z"
    [location] = customer["locations"]
    assert location["location_id"] == customer["main_location_id"] and location["main"]
    assert location["city"] == "Paris" and location["geo"] is None


def test_search_terms_cover_names_number_email_and_phone() -> None:
    _, stream = a_customer(name="Élodie Müller", customer_number="C-10001")
    terms = set(stream.view()["search_terms"])
    assert {"elodie", "muller", "martin", "nord"} <= terms
    assert {"c", "10001", "c10001"} <= terms
    assert {"contact@martin.example", "contact"} <= terms
    assert {"33140000000", "140000000", "0140000000"} <= terms
    assert stream.view()["sort_name"] == "elodie muller"


def test_details_changed_sets_named_fields_and_clears_the_ones_given_as_none() -> None:
    customer_id, stream = a_customer()
    stream.record(
        CustomerDetailsChanged(
            customer_id=customer_id,
            changed=("name", "note", "language", "discount_percent", "region"),
            name="Boulangerie Dupont",
            note="Sonner deux fois",
            language=None,
            discount_percent=Decimal("5"),
            region=None,
        ),
        actor="bob",
    )
    customer = stream.view()
    assert customer["name"] == "Boulangerie Dupont"
    assert customer["note"] == "Sonner deux fois"
    assert customer["language"] == "fr", "a None language is no change"
    assert customer["region"] is None
    assert customer["discount_percent"] == "5"
    assert "dupont" in customer["search_terms"] and "martin" in customer["search_terms"]
    assert customer["updated_by"] == "bob" and customer["created_by"] == "alice"
    assert customer["version"] == 2


def test_roles_labels_and_kind_follow_their_events() -> None:
    customer_id, stream = a_customer(kind="person")
    stream.record(
        ProspectConvertedToCustomer(customer_id=customer_id),
        CustomerRoleAdded(customer_id=customer_id, role="supplier"),
        CustomerLabelAdded(customer_id=customer_id, label="late payer"),
        CustomerLabelRemoved(customer_id=customer_id, label="vip"),
        CustomerConvertedToCompany(customer_id=customer_id),
    )
    customer = stream.view()
    assert customer["roles"] == ["customer", "supplier"]
    assert customer["labels"] == ["late payer"]
    assert customer["kind"] == "company"


def test_contacts_are_added_changed_made_main_and_removed() -> None:
    customer_id, stream = a_customer()
    claire, paul = uuid4(), uuid4()
    stream.record(
        ContactAdded(
            customer_id=customer_id,
            contact_id=claire,
            given_name="Claire",
            family_name="Martin",
            email="Claire@Martin.example",
            phone="+33612345678",
            notify=NotifyChannels(email=True),
        ),
        MainContactChosen(customer_id=customer_id, contact_id=claire),
        ContactAdded(customer_id=customer_id, contact_id=paul, given_name="Paul"),
        ContactChanged(
            customer_id=customer_id,
            contact_id=paul,
            changed=("position", "notify", "equipment_alerts"),
            position="Comptable",
            notify=None,
            equipment_alerts=True,
        ),
    )
    customer = stream.view()
    first, second = customer["contacts"]
    assert first["main"] and not second["main"]
    assert customer["main_contact_id"] == str(claire)
    assert first["notify"] == {"email": True, "sms": False}
    assert (first["name"], first["given_name"], first["family_name"]) == (
        "Claire Martin",
        "Claire",
        "Martin",
    )
    assert second["position"] == "Comptable" and second["equipment_alerts"]
    assert second["notify"] == {"email": False, "sms": False}, "a None notify is no change"
    assert "claire@martin.example" in customer["emails"]
    assert {"33612345678", "0612345678", "33140000000"} <= set(customer["phones"])
    stream.record(
        MainContactChosen(customer_id=customer_id, contact_id=paul),
        ContactRemoved(customer_id=customer_id, contact_id=claire),
    )
    customer = stream.view()
    assert [c["contact_id"] for c in customer["contacts"]] == [str(paul)]
    assert customer["contacts"][0]["main"] and customer["main_contact_id"] == str(paul)


def test_removing_the_main_contact_leaves_no_main_contact() -> None:
    customer_id, stream = a_customer()
    claire = uuid4()
    stream.record(
        ContactAdded(customer_id=customer_id, contact_id=claire, given_name="Claire"),
        MainContactChosen(customer_id=customer_id, contact_id=claire),
        ContactRemoved(customer_id=customer_id, contact_id=claire),
    )
    assert stream.view()["main_contact_id"] is None


def test_locations_are_added_changed_made_main_and_removed() -> None:
    customer_id, stream = a_customer()
    first_main = stream.view()["main_location_id"]
    workshop = uuid4()
    stream.record(
        LocationAdded(customer_id=customer_id, location_id=workshop, label="Atelier", city="Lyon"),
        LocationChanged(
            customer_id=customer_id,
            location_id=workshop,
            changed=("postal_code", "geo"),
            postal_code="69002",
            geo=GeoPoint(latitude=45.7, longitude=4.8),
        ),
        MainLocationChosen(customer_id=customer_id, location_id=workshop),
    )
    customer = stream.view()
    main = {location["location_id"]: location["main"] for location in customer["locations"]}
    assert main == {first_main: False, str(workshop): True}
    moved = customer["locations"][1]
    assert moved["postal_code"] == "69002" and moved["geo"] == {"latitude": 45.7, "longitude": 4.8}
    stream.record(LocationRemoved(customer_id=customer_id, location_id=UUID(first_main)))
    assert [loc["location_id"] for loc in stream.view()["locations"]] == [str(workshop)]


def test_relations_employees_documents_and_equipment_are_listed() -> None:
    customer_id, stream = a_customer()
    parent, gone, machine = uuid4(), uuid4(), uuid4()
    stream.record(
        RelationAdded(customer_id=customer_id, other_customer_id=parent, relation="parent"),
        RelationAdded(customer_id=customer_id, other_customer_id=gone, relation="related"),
        RelationRemoved(customer_id=customer_id, other_customer_id=gone),
        EmployeeAssigned(customer_id=customer_id, employee_id="tech-7"),
        EmployeeAssigned(customer_id=customer_id, employee_id="tech-9"),
        EmployeeUnassigned(customer_id=customer_id, employee_id="tech-9"),
        DocumentLinked(customer_id=customer_id, document_id="INV-1", document_type="invoice"),
        DocumentLinked(customer_id=customer_id, document_id="INV-2", document_type="invoice"),
        DocumentUnlinked(customer_id=customer_id, document_id="INV-2"),
        EquipmentAssigned(customer_id=customer_id, equipment_id=machine),
        EquipmentAssigned(customer_id=customer_id, equipment_id=uuid4()),
    )
    customer = stream.view()
    assert customer["relations"] == [{"customer_id": str(parent), "relation": "parent"}]
    assert customer["employees"] == ["tech-7"]
    assert customer["documents"] == [{"document_id": "INV-1", "document_type": "invoice"}]
    assert str(machine) in customer["equipment_ids"] and len(customer["equipment_ids"]) == 2
    stream.record(EquipmentUnassigned(customer_id=customer_id, equipment_id=machine))
    assert str(machine) not in stream.view()["equipment_ids"]


def test_archive_and_reactivate_change_the_status() -> None:
    customer_id, stream = a_customer()
    stream.record(CustomerArchived(customer_id=customer_id, reason="saison"))
    assert stream.view()["status"] == "archived"
    stream.record(CustomerReactivated(customer_id=customer_id))
    assert stream.view()["status"] == "active"


def test_survivor_absorbs_what_its_duplicates_held() -> None:
    customer_id, stream = a_customer()
    duplicate, contact, location, other, machine = (uuid4() for _ in range(5))
    stream.record(
        DuplicatesMerged(
            customer_id=customer_id,
            duplicate_ids=(duplicate,),
            contacts=(ContactSnapshot(contact_id=contact, name="Jeanne", email="j@x.example"),),
            locations=(LocationSnapshot(location_id=location, city="Lille"),),
            labels=("old",),
            relations=((other, "related"),),
            equipment_ids=(machine,),
            document_ids=(("INV-9", "invoice"),),
        )
    )
    customer = stream.view()
    assert customer["merged_ids"] == [str(duplicate)]
    assert [c["name"] for c in customer["contacts"]] == ["Jeanne"]
    assert "j@x.example" in customer["emails"]
    assert {loc["city"] for loc in customer["locations"]} == {"Paris", "Lille"}
    assert customer["labels"] == ["old", "vip"]
    assert customer["relations"] == [{"customer_id": str(other), "relation": "related"}]
    assert customer["equipment_ids"] == [str(machine)]
    assert customer["documents"] == [{"document_id": "INV-9", "document_type": "invoice"}]


def test_duplicate_becomes_a_redirect_to_its_survivor() -> None:
    customer_id, stream = a_customer()
    survivor = uuid4()
    stream.record(CustomerMergedInto(customer_id=customer_id, survivor_id=survivor))
    customer = stream.view()
    assert customer["status"] == "merged" and customer["merged_into"] == str(survivor)


def test_anonymised_customer_keeps_no_personal_data_and_is_found_by_number_only() -> None:
    customer_id, stream = a_customer(note="Code 1234", custom_fields={"since": "2019"})
    stream.record(
        ContactAdded(
            customer_id=customer_id, contact_id=uuid4(), given_name="Claire", phone="+3361"
        ),
        CustomerAnonymised(customer_id=customer_id),
    )
    customer = stream.view()
    assert customer["status"] == "anonymised"
    for name in ("name", "internal_name", "email", "phone", "note"):
        assert customer[name] is None, name
    assert customer["custom_fields"] == {}
    assert customer["contacts"][0]["name"] is None and customer["contacts"][0]["phone"] is None
    assert customer["locations"][0]["street"] is None
    assert customer["locations"][0]["country"] == "FR", "a country is not personal"
    assert customer["search_terms"] == ["10001", "c10001"]
    assert customer["emails"] == [] and customer["phones"] == [] and customer["sort_name"] == ""


def test_deleted_customer_is_a_tombstone() -> None:
    customer_id, stream = a_customer()
    stream.record(CustomerDeleted(customer_id=customer_id))
    customer = stream.view()
    assert customer["status"] == "deleted"
    assert customer["name"] is None and customer["search_terms"] == []
    assert customer["version"] == 2


def test_history_read_back_after_anonymisation_folds_without_personal_data() -> None:
    """Without the key every personal field reads as None: the view must still fold."""
    event = created(name=None, internal_name=None, email=None, phone=None, main_location=None)
    customer_id = event.customer_id
    stream = Stream().record(event, erased=True)
    stream.record(
        CustomerDetailsChanged(customer_id=customer_id, changed=("name", "email")),
        ContactAdded(customer_id=customer_id, contact_id=uuid4(), given_name=None),
        DuplicatesMerged(
            customer_id=customer_id, duplicate_ids=(uuid4(),), contacts=None, locations=None
        ),
        CustomerAnonymised(customer_id=customer_id),
        erased=True,
    )
    customer = stream.view()
    assert customer["name"] is None and customer["status"] == "anonymised"
    assert customer["locations"][0]["city"] is None


@pytest.mark.parametrize(
    "event_type",
    # Superseded types never reach a view: the mapper reads them as their current version.
    [
        t
        for t in CUSTOMER_EVENTS
        if issubclass(t, CustomerEvent) and default_registry().superseded_by(t.type_name) is None
    ],
    ids=lambda t: t.__name__,
)
def test_every_event_type_applies_with_its_personal_fields_erased(
    event_type: type[CustomerEvent],
) -> None:
    customer_id, stream = a_customer()
    event = _erased_instance(event_type, customer_id)
    stream.record(event, erased=True)
    assert stream.view()["version"] == 2


def _erased_instance(event_type: type[CustomerEvent], customer_id: UUID) -> CustomerEvent:
    samples: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": "company",
        "main_location_id": uuid4(),
        "changed": (),
        "contact_id": uuid4(),
        "location_id": uuid4(),
        "role": "supplier",
        "label": "vip",
        "other_customer_id": uuid4(),
        "relation": "related",
        "employee_id": "tech-1",
        "document_id": "INV-1",
        "document_type": "invoice",
        "equipment_id": uuid4(),
        "duplicate_ids": (uuid4(),),
        "survivor_id": uuid4(),
        "activity_id": uuid4(),
        "occurred_at": datetime(2026, 3, 3, 12, tzinfo=UTC),
        "author": "bob",
        "attachment_id": uuid4(),
        "size": 42,
        "content_type": "application/pdf",
        "added_by": "bob",
        "added_at": datetime(2026, 3, 3, 12, tzinfo=UTC),
        "removed_by": "bob",
    }
    if event_type is ActivityRecorded:
        samples["kind"] = "visit"
    fields = {name: samples[name] for name in event_type.model_fields if name in samples}
    fields |= dict.fromkeys(event_type.personal_fields())
    return event_type.model_validate(fields)


def test_a_redelivered_contact_is_not_listed_twice() -> None:
    customer_id, stream = a_customer()
    added = ContactAdded(customer_id=customer_id, contact_id=uuid4(), given_name="Claire")
    stream.record(added, added)
    assert len(stream.view()["contacts"]) == 1


def test_apply_leaves_the_given_document_untouched() -> None:
    customer_id, stream = a_customer()
    before = stream.view()
    snapshot = copy.deepcopy(before)
    label = CustomerLabelAdded(customer_id=customer_id, label="new")
    after = CustomerView().apply(before, envelope(label, revision=1, position=200))
    assert before == snapshot
    assert after is not None and after["labels"] == ["new", "vip"]


def test_events_of_other_aggregates_change_nothing() -> None:
    customer_id, stream = a_customer()
    before = stream.view()
    other: DomainEvent = CustomerNameReleased(customer_id=customer_id)
    item = envelope(CustomerLabelAdded(customer_id=customer_id, label="x"), revision=1, position=9)
    foreign = item.model_copy(update={"event": other})
    assert CustomerView().apply(before, foreign) is before


def test_only_customer_streams_are_handled() -> None:
    view = CustomerView()
    customer_id = uuid4()
    assert view.handles(f"customer-{customer_id}")
    assert view.key_subject(f"customer-{customer_id}") == customer_id
    assert view.document_id(f"customer-{customer_id}") == str(customer_id)
    assert not view.handles("customer_name-abc")
    assert not view.handles("customer-not-a-uuid")
    assert not view.handles(f"equipment-{customer_id}")


def test_public_answer_leaves_out_internal_fields() -> None:
    _, stream = a_customer()
    answer = public(stream.view())
    for internal in ("_id", "_version", "search_terms", "sort_name", "emails", "phones"):
        assert internal not in answer
    assert answer["name"] == "Boulangerie Martin"


def test_projecting_an_empty_history_gives_nothing() -> None:
    assert project([]) is None


def test_folding_a_history_at_once_equals_applying_it_event_by_event() -> None:
    customer_id, stream = a_customer()
    claire, paul, other = uuid4(), uuid4(), uuid4()
    stream.record(
        ContactAdded(
            customer_id=customer_id, contact_id=claire, given_name="C", phone="+33612345678"
        ),
        MainContactChosen(customer_id=customer_id, contact_id=claire),
        ContactAdded(
            customer_id=customer_id, contact_id=paul, given_name="P", email="P@Example.org"
        ),
        CustomerDetailsChanged(customer_id=customer_id, changed=("name",), name="Élodie Müller"),
        RelationAdded(customer_id=customer_id, other_customer_id=other, relation="parent"),
        MainContactChosen(customer_id=customer_id, contact_id=paul),
        ContactRemoved(customer_id=customer_id, contact_id=claire),
        CustomerArchived(customer_id=customer_id),
    )
    view = CustomerView()
    halfway = project(stream.envelopes[:3])
    snapshot = copy.deepcopy(halfway)
    folded = view.fold(halfway, stream.envelopes[3:])
    assert halfway == snapshot, "fold leaves the given document untouched"
    expected = project(stream.envelopes)
    assert folded is not None and expected is not None
    assert folded == {**expected, "_id": halfway["_id"], "_version": halfway["_version"]}
    assert folded["search_terms"] != halfway["search_terms"], "derived fields are recomputed"


def test_folding_only_foreign_events_gives_the_document_back() -> None:
    customer_id, stream = a_customer()
    before = stream.view()
    item = envelope(CustomerLabelAdded(customer_id=customer_id, label="x"), revision=1, position=9)
    foreign = item.model_copy(update={"event": CustomerNameReleased(customer_id=customer_id)})
    assert CustomerView().fold(before, [foreign, foreign]) is before
    assert CustomerView().fold(None, [foreign]) is None


def test_attachments_are_listed_until_removed_and_lose_their_name_when_erased() -> None:
    customer_id, stream = a_customer()
    kept, removed = uuid4(), uuid4()
    at = datetime(2026, 3, 3, 12, tzinfo=UTC)
    for attachment_id, name in ((kept, "devis.pdf"), (removed, "photo.png")):
        stream.record(
            AttachmentAdded(
                customer_id=customer_id,
                attachment_id=attachment_id,
                file_name=name,
                size=10,
                content_type="application/pdf",
                sha256="ab" * 32,
                added_by="bob",
                added_at=at,
            )
        )
    stream.record(
        AttachmentRemoved(
            customer_id=customer_id,
            attachment_id=removed,
            file_name=None,
            sha256=None,
            size=10,
            content_type="application/pdf",
            removed_by="bob",
        )
    )
    [listed] = stream.view()["attachments"]
    assert listed == {
        "attachment_id": str(kept),
        "file_name": "devis.pdf",
        "size": 10,
        "content_type": "application/pdf",
        "added_by": "bob",
        "added_at": "2026-03-03T12:00:00.000000Z",
    }
    stream.record(CustomerAnonymised(customer_id=customer_id))
    assert stream.view()["attachments"][0]["file_name"] is None
