"""The equipment queries: a page of items (by owner, by search), one item with its history.

Both read the equipment read model; an answer reflects the log up to the projector's
checkpoint, which the routes report and let clients wait for (`min_position`).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from customerhub_shared.readstore import Document, Query, ReadStore
from customerhub_shared.readstore.port import Scalar
from equipment.domain.errors import EquipmentNotFound
from equipment.domain.terms import query_prefixes
from equipment.domain.view import public

JSON = dict[str, Any]
SORT_FIELD = "sort_name"
_MAX_CURSOR_LENGTH = 2000


class InvalidCursor(ValueError):
    code = "invalid-cursor"

    def __init__(self) -> None:
        super().__init__("the cursor is not one this list gave out")


class PositionBeyondLog(Exception):
    """No event has that position yet: waiting for it could only time out."""

    code = "position-beyond-log"

    def __init__(self, wanted: int, head: int) -> None:
        super().__init__(f"position {wanted} is beyond the log's last position {head}")
        self.wanted = wanted


class ReadModelBehind(Exception):
    code = "read-model-behind"

    def __init__(self, wanted: int) -> None:
        super().__init__(f"the equipment read model has not reached position {wanted} yet")
        self.wanted = wanted


@dataclass(frozen=True)
class ReadModel:
    """The equipment collection of the generation that serves now."""

    store: ReadStore
    collection: str

    async def get(self, equipment_id: str) -> Document | None:
        return await self.store.get(self.collection, equipment_id)

    async def find(self, query: Query) -> list[Document]:
        return await self.store.find(self.collection, query)


@dataclass(frozen=True)
class EquipmentSearch:
    q: str | None = None
    customer_id: UUID | None = None
    business_unit: str | None = None
    cursor: str | None = None
    limit: int = 50


async def search_equipment(read_model: ReadModel, search: EquipmentSearch) -> JSON:
    """A page of items by name, and the cursor of the next one (None on the last page)."""
    owner = {"owner_id": str(search.customer_id)} if search.customer_id else {}
    unit = {"business_unit": search.business_unit} if search.business_unit else {}
    found = await read_model.find(
        Query(
            prefixes=query_prefixes(search.q),
            equals=owner | unit,
            sort=SORT_FIELD,
            after=decode_cursor(search.cursor) if search.cursor else None,
            limit=search.limit + 1,  # one more than shown tells whether a next page exists
        )
    )
    page = found[: search.limit]
    next_cursor = None
    if len(found) > search.limit:
        next_cursor = encode_cursor(page[-1].get(SORT_FIELD), page[-1]["_id"])
    return {"items": [public(item) for item in page], "next_cursor": next_cursor}


async def equipment_by_id(read_model: ReadModel, equipment_id: UUID) -> JSON:
    found = await read_model.get(str(equipment_id))
    if found is None:
        raise EquipmentNotFound([equipment_id])
    return public(found)


def encode_cursor(value: Scalar, document_id: str) -> str:
    raw = json.dumps([value, document_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Scalar, str]:
    if len(cursor) > _MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    match decoded:
        case [str() | None as value, str(document_id)]:
            return value, document_id
    raise InvalidCursor()
