"""Every customer the list's filters match, one flat row each (main contact and main
location flattened), page by page so an export of any size holds one page in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from customer_query.application.queries import CustomerSearch, ReadModel, search_customers

EXPORT_PAGE = 200
CUSTOMER_COLUMNS = (
    "id",
    "customer_number",
    "external_id",
    "kind",
    "name",
    "internal_name",
    "status",
    "roles",
    "labels",
    "segment",
    "region",
    "language",
    "email",
    "phone",
    "price_list",
    "discount_percent",
    "tax_override",
    "note",
)
CONTACT_COLUMNS = ("contact_name", "contact_email", "contact_phone", "contact_position")
LOCATION_COLUMNS = ("street", "postal_code", "city", "country")
COLUMNS = (*CUSTOMER_COLUMNS, *CONTACT_COLUMNS, *LOCATION_COLUMNS, "created_at", "updated_at")
# Lists in one cell; the import splits them on the same character.
LIST_SEPARATOR = "|"

Cell = str | int | float | None


async def export_pages(
    read_model: ReadModel, search: CustomerSearch, *, page_size: int = EXPORT_PAGE
) -> AsyncIterator[list[tuple[Cell, ...]]]:
    """The matching customers in the list's order, a page of rows at a time."""
    cursor: str | None = None
    while True:
        paging = replace(search, cursor=cursor, limit=page_size)
        page = await search_customers(read_model, paging)
        yield [export_row(customer) for customer in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return


def export_row(customer: dict[str, Any]) -> tuple[Cell, ...]:
    contact = _main(customer.get("contacts") or [])
    location = _main(customer.get("locations") or [])
    values: dict[str, Any] = {
        **{name: customer.get(name) for name in CUSTOMER_COLUMNS},
        "external_id": (customer.get("custom_fields") or {}).get("external_id"),
        "roles": LIST_SEPARATOR.join(customer.get("roles") or []),
        "labels": LIST_SEPARATOR.join(customer.get("labels") or []),
        **{name: contact.get(name.removeprefix("contact_")) for name in CONTACT_COLUMNS},
        **{name: location.get(name) for name in LOCATION_COLUMNS},
        "created_at": customer.get("created_at"),
        "updated_at": customer.get("updated_at"),
    }
    return tuple(_cell(values[name]) for name in COLUMNS)


def _main(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return next((part for part in parts if part.get("main")), {})


def _cell(value: Any) -> Cell:
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)
