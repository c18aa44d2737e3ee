"""The audience projection: what the rules know of a customer, folded from its events."""

from __future__ import annotations

import uuid

from customerhub_shared.events.customer import (
    ContactChanged,
    ContactRemoved,
    ContactSnapshot,
    CustomerAnonymised,
    CustomerDetailsChanged,
    CustomerMergedInto,
    DuplicatesMerged,
    MainContactChosen,
    NotifyChannels,
)
from customerhub_shared.events.equipment import EquipmentDetailsChanged, EquipmentRegistered
from notifications.domain import audience as folds
from tests.unit.notifications.builders import CUSTOMER, contact_added, created, folded

CLAIRE = uuid.uuid4()
MARC = uuid.uuid4()


def test_a_customer_keeps_its_language_and_its_contacts_with_their_opt_ins() -> None:
    audience = folded(
        created("de"),
        contact_added(CLAIRE, email="claire@x.example", notify={"email": True}, alerts=True),
    )
    assert audience.language == "de"
    contact = audience.contact(CLAIRE)
    assert contact is not None
    assert contact.opted_in("email") and not contact.opted_in("sms")
    assert audience.alert_contacts == (CLAIRE,)


def test_a_changed_language_and_contact_opt_ins_are_followed() -> None:
    audience = folded(
        created("fr"),
        contact_added(CLAIRE, phone="+33612345678"),
        CustomerDetailsChanged(customer_id=CUSTOMER, changed=("language",), language="en"),
        ContactChanged(
            customer_id=CUSTOMER,
            contact_id=CLAIRE,
            changed=("notify", "equipment_alerts"),
            notify=NotifyChannels(sms=True),
            equipment_alerts=True,
        ),
    )
    contact = audience.contact(CLAIRE)
    assert audience.language == "en"
    assert contact is not None and contact.opted_in("sms") and contact.equipment_alerts
    assert contact.phone == "+33612345678"  # a field not named in `changed` stays


def test_a_removed_contact_is_gone() -> None:
    audience = folded(
        created(), contact_added(CLAIRE), ContactRemoved(customer_id=CUSTOMER, contact_id=CLAIRE)
    )
    assert audience.contact(CLAIRE) is None


def test_choosing_the_first_main_contact_marks_the_customer_welcomed() -> None:
    audience = folded(created(), contact_added(CLAIRE))
    assert not audience.welcomed
    chosen = folds.apply(audience, MainContactChosen(customer_id=CUSTOMER, contact_id=CLAIRE))
    assert chosen.welcomed and chosen.main_contact_id == CLAIRE
    unset = folds.apply(chosen, MainContactChosen(customer_id=CUSTOMER, contact_id=None))
    assert unset.welcomed and unset.main_contact_id is None


def test_a_survivor_gains_the_contacts_of_its_duplicates() -> None:
    snapshot = ContactSnapshot(contact_id=MARC, name="Marc", notify=NotifyChannels(sms=True))
    audience = folded(
        created(),
        DuplicatesMerged(customer_id=CUSTOMER, duplicate_ids=(uuid.uuid4(),), contacts=(snapshot,)),
    )
    contact = audience.contact(MARC)
    assert contact is not None and contact.opted_in("sms")


def test_a_merged_duplicate_points_to_its_survivor() -> None:
    survivor = uuid.uuid4()
    audience = folded(created(), CustomerMergedInto(customer_id=CUSTOMER, survivor_id=survivor))
    assert audience.status == "merged" and audience.merged_into == survivor


def test_anonymising_erases_names_and_addresses() -> None:
    audience = folded(
        created(),
        contact_added(CLAIRE, email="claire@x.example", phone="+33612345678"),
        CustomerAnonymised(customer_id=CUSTOMER),
    )
    contact = audience.contact(CLAIRE)
    assert audience.status == "anonymised" and audience.name is None
    assert contact is not None and (contact.name, contact.email, contact.phone) == (None,) * 3


def test_equipment_is_labelled_by_name_make_and_model() -> None:
    item = uuid.uuid4()
    label = folds.apply_equipment(
        None,
        EquipmentRegistered(equipment_id=item, name="Four", brand="Bongard", model="Orion"),
    )
    assert label.title() == "Four (Bongard Orion)"
    renamed = folds.apply_equipment(
        label,
        EquipmentDetailsChanged(equipment_id=item, changed=("name",), name="Four à sole"),
    )
    assert renamed.title() == "Four à sole (Bongard Orion)"
    assert (
        folds.apply_equipment(None, EquipmentRegistered(equipment_id=item, name="X")).title() == "X"
    )
