"""Events read back straight from their stored JSON equal the same events read through Python
dicts: sealed or not, erased, personal fields stored as None, old types to upcast."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from customerhub_shared.events import DomainEvent, EventMetadata, default_registry
from customerhub_shared.events.customer import (
    ContactAddedV1,
    CustomerCreated,
    CustomerLabelAdded,
    DuplicatesMerged,
    NotifyChannels,
)
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.mapper import EventMapper

MAPPER = EventMapper(default_registry())
KEY = os.urandom(32)
CUSTOMER = uuid4()


def _stored(event: DomainEvent, key: bytes | None = KEY) -> RecordedEvent:
    metadata = EventMetadata(actor="alice", correlation_id="c", occurred_at=datetime.now(UTC))
    new = MAPPER.to_new_event(event, metadata, key=key)
    return RecordedEvent(
        id=new.id,
        stream=f"customer-{CUSTOMER}",
        revision=0,
        position=1,
        type=new.type,
        data=new.data,
        metadata=new.metadata,
        recorded_at=datetime.now(UTC),
    )


def _created(**changes: object) -> CustomerCreated:
    fields: dict[str, object] = {
        "customer_id": CUSTOMER,
        "kind": "company",
        "name": "Boulangerie Martin",
        "email": "contact@martin.example",
        "phone": "+33140000000",
        "custom_fields": {"vat": "FR123", "rank": 2.5},
        "discount_percent": "12.50",
        "main_location_id": uuid4(),
    }
    return CustomerCreated.model_validate({**fields, **changes})


EVENTS = {
    "sealed": _created(),
    "sealed with a personal field stored as None": _created(email=None, phone=None),
    "nothing personal": CustomerLabelAdded(customer_id=CUSTOMER, label="vip"),
    "personal field with a default, absent": DuplicatesMerged(
        customer_id=CUSTOMER, duplicate_ids=(uuid4(),), labels=("vip",)
    ),
    "old type, upcast": ContactAddedV1(
        customer_id=CUSTOMER,
        contact_id=uuid4(),
        name="Claire Martin",
        notify=NotifyChannels(email=True),
    ),
}


@pytest.mark.parametrize("case", list(EVENTS))
def test_an_event_reads_the_same_whichever_way_it_is_parsed(case: str) -> None:
    stored = _stored(EVENTS[case])
    [envelope] = MAPPER.to_envelopes([stored], key=KEY)
    expected, erased = MAPPER._event_from_dict(stored, AESGCM(KEY))
    assert envelope.event == expected and type(envelope.event) is type(expected)
    assert envelope.event.model_dump() == expected.model_dump()
    assert envelope.event_type == expected.type_name and not envelope.personal_data_erased
    assert not erased


def test_an_event_whose_key_is_gone_reads_with_its_personal_fields_erased() -> None:
    stored = _stored(_created())
    [envelope] = MAPPER.to_envelopes([stored], key=None)
    assert envelope.personal_data_erased
    event = envelope.event
    assert isinstance(event, CustomerCreated)
    assert (event.name, event.email, event.phone, event.custom_fields) == (None,) * 4
    assert event.discount_percent is not None and str(event.discount_percent) == "12.50"


def test_an_event_sealed_under_another_key_reads_as_erased() -> None:
    stored = _stored(_created(), key=os.urandom(32))
    [envelope] = MAPPER.to_envelopes([stored], key=KEY)
    assert envelope.personal_data_erased and envelope.event.model_dump()["name"] is None


def test_a_stream_s_events_decode_together_in_order() -> None:
    stored = [_stored(_created()), _stored(CustomerLabelAdded(customer_id=CUSTOMER, label="b2b"))]
    envelopes = MAPPER.to_envelopes(stored, key=KEY)
    assert [e.event_id for e in envelopes] == [s.id for s in stored]
    assert [type(e.event) for e in envelopes] == [CustomerCreated, CustomerLabelAdded]
