"""contact_added.v1 → v2: stored v1 events stay as they are and are read as v2."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from customerhub_shared.events import EventMetadata, default_registry
from customerhub_shared.events.customer import (
    ContactAdded,
    ContactAddedV1,
    NotifyChannels,
    join_name,
    split_name,
)
from customerhub_shared.events.schemas import asyncapi_document, event_schemas
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.mapper import EventMapper

MAPPER = EventMapper(default_registry())
KEY = os.urandom(32)
V1 = "customerhub.customer.contact_added.v1"
V2 = "customerhub.customer.contact_added.v2"


def _stored_v1(name: str | None = "Claire Martin") -> RecordedEvent:
    """A v1 event exactly as the store holds those written before v2 (name sealed)."""
    customer_id = uuid4()
    event = ContactAddedV1(
        customer_id=customer_id,
        contact_id=uuid4(),
        name=name,
        email="claire@martin.example",
        notify=NotifyChannels(email=True),
        equipment_alerts=True,
    )
    metadata = EventMetadata(actor="alice", correlation_id="c", occurred_at=datetime.now(UTC))
    new = MAPPER.to_new_event(event, metadata, key=KEY)
    return RecordedEvent(
        id=new.id,
        stream=f"customer-{customer_id}",
        revision=1,
        position=7,
        type=new.type,
        data=new.data,
        metadata=new.metadata,
        recorded_at=datetime.now(UTC),
    )


def test_a_stored_v1_contact_reads_as_v2_with_its_name_split() -> None:
    stored = _stored_v1()
    assert stored.type == V1 and "given_name" not in json.loads(stored.data)
    envelope = MAPPER.to_envelope(stored, key=KEY)
    assert envelope.event_type == V2
    event = envelope.event
    assert isinstance(event, ContactAdded)
    assert (event.given_name, event.family_name) == ("Claire", "Martin")
    assert event.name == "Claire Martin"
    assert event.email == "claire@martin.example" and event.notify.email and event.equipment_alerts


def test_an_erased_v1_contact_reads_as_v2_with_no_name() -> None:
    envelope = MAPPER.to_envelope(_stored_v1(), key=None)
    assert envelope.personal_data_erased and envelope.event_type == V2
    assert isinstance(envelope.event, ContactAdded)
    assert (envelope.event.given_name, envelope.event.family_name, envelope.event.email) == (
        None,
        None,
        None,
    )


def test_new_contacts_are_written_as_v2_and_read_back_unchanged() -> None:
    event = ContactAdded(
        customer_id=uuid4(), contact_id=uuid4(), given_name="Mary Ann", family_name="Smith"
    )
    metadata = EventMetadata(actor="alice", correlation_id="c", occurred_at=datetime.now(UTC))
    new = MAPPER.to_new_event(event, metadata, key=KEY)
    assert new.type == V2
    recorded = RecordedEvent(
        id=new.id,
        stream=f"customer-{event.customer_id}",
        revision=1,
        position=8,
        type=new.type,
        data=new.data,
        metadata=new.metadata,
        recorded_at=datetime.now(UTC),
    )
    assert MAPPER.to_envelope(recorded, key=KEY).event == event


@pytest.mark.parametrize(
    ("name", "given", "family"),
    [
        ("Claire Martin", "Claire", "Martin"),
        ("Jean de la Fontaine", "Jean", "de la Fontaine"),
        ("Cher", "Cher", None),
        (None, None, None),
    ],
)
def test_a_full_name_splits_at_its_first_space_and_joins_back(
    name: str | None, given: str | None, family: str | None
) -> None:
    assert split_name(name) == (given, family)
    assert join_name(given, family) == name


def test_the_published_contract_keeps_v1_and_names_its_successor() -> None:
    registry = default_registry()
    assert registry.superseded_by(V1) == V2 and registry.superseded_by(V2) is None
    schemas = event_schemas(registry)
    assert schemas[V1]["x-superseded-by"] == V2 and "x-superseded-by" not in schemas[V2]
    assert {"given_name", "family_name"} <= set(schemas[V2]["x-personal-fields"])
    messages = asyncapi_document(registry)["components"]["messages"]
    assert {V1, V2} <= set(messages)
