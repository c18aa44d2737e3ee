"""The one mapper between events and stored bytes: JSON, upcasting, and personal-data encryption.

Personal fields travel as one AES-GCM sealed JSON object under `_personal`, sealed with the
customer's key and bound to the event id. Without the key (anonymised) they read back as None.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ValidationError

from customerhub_shared.events.base import DomainEvent, Envelope, EventMetadata
from customerhub_shared.events.registry import EventRegistry
from customerhub_shared.eventstore.port import NewEvent, RecordedEvent
from customerhub_shared.ids import new_event_id, random_bytes

# The data field the sealed personal fields travel in (on the bus too).
SEALED_FIELD = "_personal"
_SEALED = SEALED_FIELD
_SEALED_KEY = b'"_personal"'
# How a sealed value ends the stored JSON: `_seal`'s field is the last one written.
_SEALED_TAIL = b',"_personal":"'
JSON = dict[str, Any]


class PersonalDataKeyMissing(Exception):
    """An event with personal data was written without the subject's key."""


class SealedDataMalformed(ValueError):
    """`_personal` is not a value this mapper sealed (not base64 of nonce and ciphertext)."""


class EventMapper:
    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry
        # The events of one append share their metadata bytes: parse them once.
        self._metadata: tuple[bytes, EventMetadata] | None = None
        # Per event class: its personal fields whose default is not None.
        self._defaults: dict[type[DomainEvent], frozenset[str]] = {}

    def is_sealed(self, recorded: RecordedEvent) -> bool:
        """Whether the event carries sealed personal data, so reading it needs the key.
        (May say yes for an event that does not; never no for one that does.)"""
        return _SEALED_KEY in recorded.data

    def to_new_event(
        self,
        event: DomainEvent,
        metadata: EventMetadata,
        *,
        key: bytes | None,
        event_id: UUID | None = None,
    ) -> NewEvent:
        event_id = event_id or new_event_id()
        data = event.model_dump(mode="json")
        personal = {name: data.pop(name) for name in event.personal_fields()}
        personal = {name: value for name, value in personal.items() if value not in (None, [], {})}
        if personal:
            if key is None:
                raise PersonalDataKeyMissing(event.type_name)
            data[_SEALED] = _seal(key, event_id, personal)
        return NewEvent(
            id=event_id,
            type=event.type_name,
            data=dump_json(data),
            metadata=dump_json(metadata.model_dump(mode="json")),
        )

    def to_envelope(self, recorded: RecordedEvent, *, key: bytes | None) -> Envelope:
        return self.to_envelopes([recorded], key=key)[0]

    def to_envelopes(
        self, recorded: Sequence[RecordedEvent], *, key: bytes | None
    ) -> list[Envelope]:
        """Events of one subject (one key), decoded together: the cipher is made once."""
        cipher = None if key is None else AESGCM(key)
        return [self._envelope(event, cipher) for event in recorded]

    def _envelope(self, recorded: RecordedEvent, cipher: AESGCM | None) -> Envelope:
        event = self._event_from_json(recorded, cipher)
        erased = False
        if event is None:
            event, erased = self._event_from_dict(recorded, cipher)
        return Envelope(
            event_id=recorded.id,
            event_type=event.type_name,
            stream=recorded.stream,
            revision=recorded.revision,
            position=recorded.position,
            recorded_at=recorded.recorded_at,
            metadata=self._parsed_metadata(recorded.metadata),
            event=event,
            personal_data_erased=erased,
        )

    def _event_from_dict(
        self, recorded: RecordedEvent, cipher: AESGCM | None
    ) -> tuple[DomainEvent, bool]:
        data: dict[str, Any] = json.loads(recorded.data)
        sealed = data.pop(_SEALED, None)
        erased = False
        if sealed is not None:
            personal = _open(cipher, recorded.id, sealed)
            erased = personal is None
            data.update(personal or {})
        type_name, data = self.registry.upcast(recorded.type, data)
        event_class = self.registry.event_class(type_name)
        for name in event_class.personal_fields():
            data.setdefault(name, None)
        return event_class.model_validate(data), erased

    def _event_from_json(
        self, recorded: RecordedEvent, cipher: AESGCM | None
    ) -> DomainEvent | None:
        """The event parsed straight from its stored JSON (its opened personal fields spliced
        in where `_seal` put them, last): no Python dicts in between. None where that does not
        apply (an old type to upcast, erased data, a personal field stored as None that the
        type requires): the dict path then reads it."""
        if self.registry.superseded_by(recorded.type) is not None:
            return None
        data = recorded.data
        at = data.rfind(_SEALED_TAIL)
        if at >= 0:
            sealed = data[at + len(_SEALED_TAIL) : -2]
            if cipher is None or not data.endswith(b'"}') or b'"' in sealed:
                return None
            plain = _decrypt(cipher, recorded.id, sealed)
            if plain is None or plain[:1] != b"{":
                return None
            data = data[:at] + (b"}" if plain == b"{}" else b"," + plain[1:])
        event_class = self.registry.event_class(recorded.type)
        try:
            event = event_class.model_validate_json(data)
        except ValidationError:
            return None
        # A personal field absent from storage reads as None, not as its default.
        if not self._not_none_defaults(event_class) <= event.model_fields_set:
            return None
        return event

    def _not_none_defaults(self, event_class: type[DomainEvent]) -> frozenset[str]:
        names = self._defaults.get(event_class)
        if names is None:
            fields = event_class.model_fields
            names = frozenset(
                name
                for name in event_class.personal_fields()
                if fields[name].is_required() or fields[name].get_default() is not None
            )
            self._defaults[event_class] = names
        return names

    def opened_data(self, recorded: RecordedEvent, *, key: bytes | None) -> tuple[JSON, bool]:
        """The event data as stored, its sealed personal fields opened in place (not upcast),
        and whether they were erased: then every personal field of the type is None.

        UnknownEventType for a type the registry does not know; SealedDataMalformed when
        `_personal` cannot have come from this mapper.
        """
        data: JSON = json.loads(recorded.data)
        sealed = data.pop(_SEALED, None)
        names = self.registry.event_class(recorded.type).personal_fields()
        if sealed is None:
            return {**data, **dict.fromkeys(names - data.keys())}, False
        if not isinstance(sealed, str):
            raise SealedDataMalformed("_personal must be a string")
        try:
            personal = _open(None if key is None else AESGCM(key), recorded.id, sealed)
        except (ValueError, UnicodeDecodeError) as error:
            raise SealedDataMalformed(str(error)) from error
        for name in names:
            data[name] = None if personal is None else personal.get(name)
        return data, personal is None

    def _parsed_metadata(self, raw: bytes) -> EventMetadata:
        cached = self._metadata
        if cached is None or cached[0] != raw:
            cached = self._metadata = (raw, EventMetadata.model_validate_json(raw))
        return cached[1]


def dump_json(value: Any) -> bytes:
    """The stored events' JSON encoding: `json.dumps(value, separators=(",", ":"),
    ensure_ascii=False)` in UTF-8, byte for byte for finite floats (the relay rebuilds stored
    bytes with it; events hold no NaN or infinity, which orjson writes as null)."""
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError:  # keys other than strings, integers beyond 64 bits
        return _dumps_as_json(value)
    return _dumps_as_json(value) if _json_writes_otherwise(encoded) else encoded


def _dumps_as_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _json_writes_otherwise(encoded: bytes) -> bool:
    """Whether orjson's bytes may hold a float json writes otherwise: json writes one below
    1e-4 as "1e-05" or "5.9e-08", orjson as "0.00001" or "5.9e-8" (a string merely holding
    such a text takes json's way too)."""
    if b"0.0000" in encoded:
        return True
    at = encoded.find(b"e-")
    while at >= 0:
        if encoded[at + 2 : at + 3].isdigit() and encoded[at + 3 : at + 4] in _NUMBER_ENDS:
            return True
        at = encoded.find(b"e-", at + 2)
    return False


_NUMBER_ENDS = (b",", b"]", b"}")


def _seal(key: bytes, event_id: UUID, personal: dict[str, Any]) -> str:
    nonce = random_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, dump_json(personal), event_id.bytes)
    return base64.b64encode(nonce + sealed).decode()


def _decrypt(cipher: AESGCM, event_id: UUID, sealed: bytes) -> bytes | None:
    """The plaintext of a sealed value; None if it is not one this key sealed."""
    try:
        raw = base64.b64decode(sealed, validate=True)
        return cipher.decrypt(raw[:12], raw[12:], event_id.bytes)
    except (ValueError, InvalidTag):
        return None


def _open(cipher: AESGCM | None, event_id: UUID, sealed: str) -> dict[str, Any] | None:
    if cipher is None:
        return None
    raw = base64.b64decode(sealed, validate=True)
    try:
        plain = cipher.decrypt(raw[:12], raw[12:], event_id.bytes)
    except InvalidTag:
        return None
    result: dict[str, Any] = json.loads(plain)
    return result
