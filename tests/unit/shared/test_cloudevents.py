"""The bus contract: recorded events as CloudEvents Kafka messages, and back again."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from customerhub_shared.cloudevents import (
    CONTENT_TYPE,
    InvalidCloudEvent,
    KafkaMessage,
    Topics,
    from_message,
    is_cloudevent,
    to_message,
)
from customerhub_shared.events import EventMetadata, default_registry
from customerhub_shared.events.customer import (
    CustomerCreated,
    CustomerLabelAdded,
    CustomerNameReserved,
)
from customerhub_shared.events.registry import UnknownEventType
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.mapper import EventMapper, SealedDataMalformed

MAPPER = EventMapper(default_registry())
KEY = os.urandom(32)
RECORDED_AT = datetime(2026, 3, 3, 12, 0, 0, 123456, tzinfo=UTC)


def recorded(
    event: Any,
    *,
    stream: str,
    revision: int = 0,
    position: int = 7,
    causation_id: str | None = None,
    key: bytes | None = KEY,
) -> RecordedEvent:
    metadata = EventMetadata(
        actor="alice",
        correlation_id="corr-1",
        causation_id=causation_id,
        occurred_at=RECORDED_AT,
        idempotency_key="client-retry-key",
    )
    new = MAPPER.to_new_event(event, metadata, key=key)
    return RecordedEvent(
        id=new.id,
        stream=stream,
        revision=revision,
        position=position,
        type=new.type,
        data=new.data,
        metadata=new.metadata,
        recorded_at=RECORDED_AT,
    )


def created(customer_id: uuid.UUID) -> CustomerCreated:
    return CustomerCreated(
        customer_id=customer_id,
        kind="company",
        name="Boulangerie Martin",
        email="contact@martin.example",
        phone="+33140000000",
        labels=("vip",),
        main_location_id=uuid.uuid4(),
    )


def cloudevent(message: KafkaMessage) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(message.value)
    return value


def test_a_customer_event_becomes_a_structured_cloudevent_keyed_by_the_customer() -> None:
    customer_id = uuid.uuid4()
    event = recorded(created(customer_id), stream=f"customer-{customer_id}", revision=4)
    message = to_message(event)
    assert message is not None
    assert message.topic == "customerhub.customer.events"
    assert message.key == str(customer_id).encode()
    assert dict(message.headers)["content-type"] == CONTENT_TYPE.encode()
    assert [name for name, _ in message.headers] == ["content-type"]  # no ce_ headers
    body = cloudevent(message)
    assert {key: value for key, value in body.items() if key != "data"} == {
        "specversion": "1.0",
        "id": str(event.id),
        "source": "/customerhub/customer-command",
        "type": "customerhub.customer.created.v1",
        "subject": str(customer_id),
        "time": "2026-03-03T12:00:00.123456Z",
        "datacontenttype": "application/json",
        "dataschema": "urn:customerhub:event:customerhub.customer.created.v1",
        "sequence": "00000000000000000004",
        "position": "7",
        "partitionkey": str(customer_id),
        "actor": "alice",
        "correlationid": "corr-1",
    }
    assert body["data"] == json.loads(event.data)


def test_personal_data_stays_sealed_on_the_bus() -> None:
    customer_id = uuid.uuid4()
    message = to_message(recorded(created(customer_id), stream=f"customer-{customer_id}"))
    assert message is not None
    data = cloudevent(message)["data"]
    assert set(data) >= {"_personal", "labels", "kind"}
    assert not {"name", "email", "phone"} & set(data)
    for secret in (b"Boulangerie", b"martin.example", b"+3314"):
        assert secret not in message.value


def test_the_idempotency_key_and_occurrence_time_stay_in_the_store() -> None:
    customer_id = uuid.uuid4()
    message = to_message(recorded(created(customer_id), stream=f"customer-{customer_id}"))
    assert message is not None
    assert b"client-retry-key" not in message.value


def test_causation_travels_only_when_there_is_one() -> None:
    customer_id = uuid.uuid4()
    stream = f"customer-{customer_id}"
    label = CustomerLabelAdded(customer_id=customer_id, label="vip")
    without = to_message(recorded(label, stream=stream))
    with_cause = to_message(recorded(label, stream=stream, causation_id="evt-9"))
    assert without is not None and with_cause is not None
    assert "causationid" not in cloudevent(without)
    assert cloudevent(with_cause)["causationid"] == "evt-9"


def test_equipment_events_go_to_their_own_topic_and_source() -> None:
    # The mapping reads only the stream: any event type will do here.
    equipment_id = uuid.uuid4()
    event = CustomerLabelAdded(customer_id=uuid.uuid4(), label="four")
    message = to_message(
        recorded(event, stream=f"equipment-{equipment_id}", key=None),
        Topics(customer="c.events", equipment="e.events"),
    )
    assert message is not None
    assert message.topic == "e.events"
    assert message.key == str(equipment_id).encode()
    assert cloudevent(message)["source"] == "/customerhub/equipment"


@pytest.mark.parametrize("prefix", ["customer_name", "number_range", "contract", "customers"])
def test_internal_streams_are_never_published(prefix: str) -> None:
    event = CustomerNameReserved(customer_id=uuid.uuid4())
    assert to_message(recorded(event, stream=f"{prefix}-{uuid.uuid4()}", key=None)) is None


def test_sequence_strings_sort_in_revision_order() -> None:
    customer_id = uuid.uuid4()
    label = CustomerLabelAdded(customer_id=customer_id, label="vip")
    sequences = []
    for revision in (2, 9, 10, 11, 100, 12345):
        message = to_message(recorded(label, stream=f"customer-{customer_id}", revision=revision))
        assert message is not None
        sequences.append(cloudevent(message)["sequence"])
    assert sorted(sequences) == sequences
    assert [int(sequence) for sequence in sequences] == [2, 9, 10, 11, 100, 12345]


def test_a_message_reads_back_as_the_recorded_event() -> None:
    customer_id = uuid.uuid4()
    original = recorded(
        created(customer_id), stream=f"customer-{customer_id}", revision=3, position=2**40
    )
    message = to_message(original)
    assert message is not None
    back = from_message(message.value)
    assert (back.id, back.stream, back.revision, back.position, back.type) == (
        original.id,
        original.stream,
        original.revision,
        original.position,
        original.type,
    )
    assert back.data == original.data  # byte for byte: the sealed part included
    assert back.recorded_at == original.recorded_at
    envelope, expected = MAPPER.to_envelope(back, key=KEY), MAPPER.to_envelope(original, key=KEY)
    assert envelope.event == expected.event
    assert envelope.metadata.actor == "alice"
    assert envelope.metadata.correlation_id == "corr-1"
    assert envelope.metadata.idempotency_key is None


def test_without_the_customers_key_the_personal_data_reads_as_erased() -> None:
    customer_id = uuid.uuid4()
    message = to_message(recorded(created(customer_id), stream=f"customer-{customer_id}"))
    assert message is not None
    envelope = MAPPER.to_envelope(from_message(message.value), key=None)
    assert envelope.personal_data_erased
    assert isinstance(envelope.event, CustomerCreated)
    assert envelope.event.name is None and envelope.event.email is None
    assert envelope.event.labels == ("vip",)


def test_a_local_recording_time_is_published_in_utc() -> None:
    customer_id = uuid.uuid4()
    event = recorded(created(customer_id), stream=f"customer-{customer_id}")
    paris = timezone(timedelta(hours=1))
    local = RecordedEvent(**{**_fields(event), "recorded_at": RECORDED_AT.astimezone(paris)})
    message = to_message(local)
    assert message is not None
    assert cloudevent(message)["time"] == "2026-03-03T12:00:00.123456Z"


@pytest.mark.parametrize(
    "change",
    [
        {"specversion": "0.3"},
        {"source": "/someone/else"},
        {"sequence": "7"},
        {"id": "not-a-uuid"},
        {"data": "not an object"},
    ],
)
def test_foreign_or_malformed_messages_are_refused(change: dict[str, Any]) -> None:
    customer_id = uuid.uuid4()
    message = to_message(recorded(created(customer_id), stream=f"customer-{customer_id}"))
    assert message is not None
    body = {**cloudevent(message), **change}
    with pytest.raises(InvalidCloudEvent):
        from_message(json.dumps(body).encode())
    with pytest.raises(InvalidCloudEvent):
        from_message(b"{not json")


def test_unknown_extension_attributes_are_ignored_on_reading() -> None:
    customer_id = uuid.uuid4()
    message = to_message(recorded(created(customer_id), stream=f"customer-{customer_id}"))
    assert message is not None
    body = {**cloudevent(message), "traceparent": "00-abc-def-01"}
    assert from_message(json.dumps(body).encode()).stream == f"customer-{customer_id}"


def test_structured_mode_is_recognised_by_its_content_type() -> None:
    assert is_cloudevent([("content-type", b"application/cloudevents+json; charset=UTF-8")])
    assert is_cloudevent([("content-type", b"Application/CloudEvents+JSON")])
    assert not is_cloudevent([("content-type", b"application/json")])
    assert not is_cloudevent(None)


def _fields(event: RecordedEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in RecordedEvent.__slots__}


# --- opening sealed fields for a downstream consumer (POST /v1/events/unseal) ---------------


def test_opened_data_puts_the_personal_fields_back_in_place() -> None:
    customer_id = uuid.uuid4()
    event = recorded(created(customer_id), stream=f"customer-{customer_id}")
    data, erased = MAPPER.opened_data(event, key=KEY)
    assert not erased and "_personal" not in data
    assert data["name"] == "Boulangerie Martin" and data["email"] == "contact@martin.example"
    assert data["phone"] == "+33140000000" and data["internal_name"] is None  # never given


def test_without_the_key_every_personal_field_is_null_and_erased() -> None:
    customer_id = uuid.uuid4()
    event = recorded(created(customer_id), stream=f"customer-{customer_id}")
    data, erased = MAPPER.opened_data(event, key=None)
    assert erased
    assert data["name"] is None and data["email"] is None and data["kind"] == "company"
    assert MAPPER.opened_data(event, key=os.urandom(32))[1] is True


def test_an_event_without_sealed_fields_is_not_erased() -> None:
    customer_id = uuid.uuid4()
    label = CustomerLabelAdded(customer_id=customer_id, label="vip")
    data, erased = MAPPER.opened_data(recorded(label, stream=f"customer-{customer_id}"), key=None)
    assert not erased and data["label"] == "vip"


@pytest.mark.parametrize("sealed", ["not base64!", "QUJD", 42])
def test_a_sealed_field_we_did_not_seal_is_malformed(sealed: Any) -> None:
    customer_id = uuid.uuid4()
    event = recorded(created(customer_id), stream=f"customer-{customer_id}")
    data = {**json.loads(event.data), "_personal": sealed}
    forged = dataclasses.replace(event, data=json.dumps(data).encode())
    with pytest.raises(SealedDataMalformed):
        MAPPER.opened_data(forged, key=KEY)


def test_an_unknown_type_cannot_be_opened() -> None:
    customer_id = uuid.uuid4()
    event = recorded(created(customer_id), stream=f"customer-{customer_id}")
    with pytest.raises(UnknownEventType):
        MAPPER.opened_data(dataclasses.replace(event, type="customerhub.x.v1"), key=KEY)
