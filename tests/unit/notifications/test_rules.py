"""The rules: who is told what, on which channels, and which requests are refused."""

from __future__ import annotations

import uuid

import pytest

from customerhub_shared.events.customer import (
    CustomerAnonymised,
    CustomerMergedInto,
    EquipmentAssigned,
    MainContactChosen,
)
from notifications.domain import rules
from notifications.domain.audience import EquipmentLabel
from notifications.domain.errors import (
    CustomerMerged,
    CustomerNotNotifiable,
    MissingParameters,
    UnexpectedParameters,
    UnknownContacts,
)
from notifications.domain.templates import TemplateSpec
from tests.unit.notifications.builders import CUSTOMER, contact_added, created, envelope, folded

CLAIRE, MARC, LEA = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
EN_ROUTE = TemplateSpec(
    "technician_en_route", ("email", "sms"), ("technician", "eta"), (), ("de", "en", "fr")
)


def _customer() -> list[object]:
    return [
        created("fr"),
        contact_added(CLAIRE, email="claire@x.example", notify={"email": True}),
        contact_added(
            MARC, email="marc@x.example", phone="+33612345678", notify={"sms": True}, alerts=True
        ),
        contact_added(LEA, email="lea@x.example", phone="+33698765432", alerts=True),
    ]


def test_the_first_main_contact_is_welcomed_and_a_later_one_is_not() -> None:
    before = folded(*_customer())  # type: ignore[arg-type]
    first = envelope(MainContactChosen(customer_id=CUSTOMER, contact_id=CLAIRE))
    after = rules.intents_for_event(before, before.model_copy(update={"welcomed": True}), first, {})
    assert [(i.template, i.contact_ids) for i in after] == [("welcome", (CLAIRE,))]
    assert after[0].cause_id == first.event_id

    welcomed = before.model_copy(update={"welcomed": True})
    second = envelope(MainContactChosen(customer_id=CUSTOMER, contact_id=MARC))
    assert rules.intents_for_event(welcomed, welcomed, second, {}) == []


def test_equipment_assigned_notifies_the_alert_list_with_the_equipment_label() -> None:
    audience = folded(*_customer())  # type: ignore[arg-type]
    item = uuid.uuid4()
    labels = {item: EquipmentLabel(equipment_id=item, name="Four", serial_number="SN-1")}
    event = envelope(EquipmentAssigned(customer_id=CUSTOMER, equipment_id=item))
    [intent] = rules.intents_for_event(audience, audience, event, labels)
    assert intent.template == "equipment_assigned"
    assert intent.contact_ids == (MARC, LEA)
    assert intent.params == {"equipment": "Four", "serial_number": "SN-1"}


def test_channels_are_only_those_opted_into() -> None:
    audience = folded(*_customer())  # type: ignore[arg-type]
    intent = rules.requested(
        audience,
        EN_ROUTE,
        {"technician": "Marc", "eta": "14:30"},
        None,
        request_id=uuid.uuid4(),
        cause_type="request",
        actor="alice",
        correlation_id=None,
    )
    reached = [
        (r.contact.contact_id, r.channel) for r in rules.recipients(intent, audience, EN_ROUTE)
    ]
    # Léa opted into nothing: she is not addressed at all.
    assert reached == [(CLAIRE, "email"), (MARC, "sms")]


def test_an_sms_opt_in_on_a_landline_is_skipped_with_its_reason() -> None:
    audience = folded(created(), contact_added(CLAIRE, phone="+33140000000", notify={"sms": True}))
    intent = rules.Intent(uuid.uuid4(), "request", CUSTOMER, EN_ROUTE.name, (CLAIRE,), "alice")
    [recipient] = rules.recipients(intent, audience, EN_ROUTE)
    assert recipient.skip_reason == "not_a_mobile_number"


def test_nothing_is_derived_for_an_anonymised_customer() -> None:
    audience = folded(*_customer(), CustomerAnonymised(customer_id=CUSTOMER))  # type: ignore[arg-type]
    event = envelope(EquipmentAssigned(customer_id=CUSTOMER, equipment_id=uuid.uuid4()))
    assert rules.intents_for_event(audience, audience, event, {}) == []


@pytest.mark.parametrize(
    ("params", "refusal"),
    [
        ({"technician": "Marc"}, MissingParameters),
        ({"technician": "M", "eta": "1", "x": "2"}, UnexpectedParameters),
    ],
)
def test_a_request_must_give_exactly_the_declared_parameters(
    params: dict[str, str], refusal: type[Exception]
) -> None:
    audience = folded(*_customer())  # type: ignore[arg-type]
    with pytest.raises(refusal):
        rules.requested(
            audience,
            EN_ROUTE,
            params,
            None,
            request_id=uuid.uuid4(),
            cause_type="request",
            actor="a",
            correlation_id=None,
        )


def test_a_request_naming_an_unknown_contact_is_refused() -> None:
    audience = folded(*_customer())  # type: ignore[arg-type]
    stranger = uuid.uuid4()
    with pytest.raises(UnknownContacts) as refused:
        rules.requested(
            audience,
            EN_ROUTE,
            {"technician": "M", "eta": "1"},
            [CLAIRE, stranger],
            request_id=uuid.uuid4(),
            cause_type="request",
            actor="a",
            correlation_id=None,
        )
    assert refused.value.contact_ids == (stranger,)


def test_a_merged_or_anonymised_customer_is_not_notified_on_request() -> None:
    survivor = uuid.uuid4()
    merged = folded(created(), CustomerMergedInto(customer_id=CUSTOMER, survivor_id=survivor))
    with pytest.raises(CustomerMerged) as refused:
        rules.ensure_notifiable(merged)
    assert refused.value.merged_into == survivor
    with pytest.raises(CustomerNotNotifiable):
        rules.ensure_notifiable(folded(created(), CustomerAnonymised(customer_id=CUSTOMER)))


def test_the_language_falls_back_to_english() -> None:
    assert EN_ROUTE.language_for("de") == "de"
    assert EN_ROUTE.language_for("es") == "en"
