"""Opening sealed personal fields for downstream consumers, one recorded access per call.

A consumer sends events as it read them from the topic; each customer event's `_personal` is
opened with that customer's key, or reported erased when the key was destroyed. The access is
on record (who, which customers, how many events, when) before anything is answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from customerhub_shared.accesslog import AccessLog, AccessRecord
from customerhub_shared.cloudevents import CloudEvent, recorded_from
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import SEALED_FIELD, EventMapper

# How many events one call may open.
MAX_EVENTS = 500


@dataclass(frozen=True)
class UnsealPorts:
    mapper: EventMapper
    keyring: KeyRing
    access_log: AccessLog


async def unseal(
    ports: UnsealPorts, events: Sequence[CloudEvent], *, actor: str
) -> list[dict[str, Any]]:
    """Each event as sent, with `data` opened and `personal_data_erased` added.

    Raises UnknownEventType, InvalidCloudEvent or SealedDataMalformed for input that is not
    one of our events; nothing is recorded then, as nothing was opened.
    """
    keys: dict[UUID, bytes | None] = {}
    opened: list[dict[str, Any]] = []
    customers: dict[UUID, None] = {}
    for event in events:
        key = None
        if SEALED_FIELD in event.data:
            customers[event.subject] = None
            if event.subject not in keys:
                keys[event.subject] = await ports.keyring.key_for(event.subject)
            key = keys[event.subject]
        data, erased = ports.mapper.opened_data(recorded_from(event), key=key)
        opened.append(_answer(event, data, erased=erased))
    await ports.access_log.record(
        AccessRecord(uuid4(), datetime.now(UTC), actor, tuple(customers), events=len(events))
    )
    return opened


def _answer(event: CloudEvent, data: dict[str, Any], *, erased: bool) -> dict[str, Any]:
    answer = event.model_dump(mode="json", exclude_none=True)
    answer["data"] = data
    answer["personal_data_erased"] = erased
    return answer
