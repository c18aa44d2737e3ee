"""One spreadsheet row read as a customer: which column feeds which field, and the validated
inputs of the commands that create or update it (the API's own request models)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from customer_command.domain.values import (
    ContactPatch,
    CustomerPatch,
    LocationPatch,
    NewContact,
    NewCustomer,
)

CUSTOMER_FIELDS = (
    "customer_number",
    "kind",
    "name",
    "internal_name",
    "region",
    "language",
    "segment",
    "roles",
    "labels",
    "email",
    "phone",
    "price_list",
    "discount_percent",
    "tax_override",
    "note",
)
ADDRESS_FIELDS = ("street", "postal_code", "city", "country")
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone", "contact_position")
FIELDS = ("external_id", *CUSTOMER_FIELDS, *ADDRESS_FIELDS, *CONTACT_FIELDS)
# What only a create sets; an update leaves them as the customer has them now.
_CREATE_ONLY = frozenset({"kind", "roles", "labels"})
PATCHABLE = tuple(name for name in CUSTOMER_FIELDS if name not in _CREATE_ONLY)
_LIST_SEPARATOR = re.compile(r"\s*[|,]\s*")
_COLUMN_SPACES = re.compile(r"[\s-]+")


class InvalidMapping(ValueError):
    """The mapping names a column the file lacks, or a field customers do not have."""


@dataclass(frozen=True)
class RowError:
    field: str | None
    message: str


@dataclass(frozen=True)
class CustomerRow:
    """A row that passed validation: what a create needs, and which fields the row named."""

    external_id: str | None
    customer: NewCustomer
    contact: NewContact | None
    named: frozenset[str]

    def customer_patch(self) -> CustomerPatch | None:
        fields = {name: getattr(self.customer, name) for name in PATCHABLE if name in self.named}
        return CustomerPatch.model_validate(fields) if fields else None

    def address_patch(self) -> LocationPatch | None:
        address = self.customer.main_location
        fields = {name: getattr(address, name) for name in ADDRESS_FIELDS if name in self.named}
        return LocationPatch.model_validate(fields) if fields else None

    def contact_patch(self) -> ContactPatch | None:
        if self.contact is None:
            return None
        contact = self.contact
        named = {"email": contact.email, "phone": contact.phone, "position": contact.position}
        fields = {name: value for name, value in named.items() if f"contact_{name}" in self.named}
        return ContactPatch.model_validate(fields) if fields else None


def column_fields(columns: tuple[str, ...], mapping: Mapping[str, str]) -> dict[str, str]:
    """column → field: the mapping's choices, then columns named like a field."""
    for column, field in mapping.items():
        if column not in columns:
            raise InvalidMapping(f"the mapping names a column the file lacks: {column!r}")
        if field not in FIELDS:
            raise InvalidMapping(f"the mapping names an unknown field {field!r} for {column!r}")
    chosen = dict(mapping)
    taken = set(chosen.values())
    for column in columns:
        field = _COLUMN_SPACES.sub("_", column.strip().lower())
        if column not in chosen and field in FIELDS and field not in taken:
            chosen[column] = field
            taken.add(field)
    return chosen


def read_row(cells: Mapping[str, str], fields: Mapping[str, str]) -> CustomerRow | list[RowError]:
    values = {fields[column]: text for column, text in cells.items() if column in fields and text}
    customer = _validated(NewCustomer, _customer_input(values), prefix="")
    contact = _contact(values)
    errors = [*_errors(customer), *_errors(contact)]
    if errors:
        return errors
    assert isinstance(customer, NewCustomer)
    assert contact is None or isinstance(contact, NewContact)
    return CustomerRow(values.get("external_id"), customer, contact, frozenset(values))


def _customer_input(values: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {name: values[name] for name in CUSTOMER_FIELDS if name in values}
    for listed in ("roles", "labels"):
        if listed in data:
            data[listed] = [item for item in _LIST_SEPARATOR.split(data[listed]) if item]
    data["main_location"] = {name: values[name] for name in ADDRESS_FIELDS if name in values}
    if "external_id" in values:
        data["custom_fields"] = {"external_id": values["external_id"]}
    return data


def _contact(values: Mapping[str, str]) -> NewContact | list[RowError] | None:
    data = {
        name.removeprefix("contact_"): values[name] for name in CONTACT_FIELDS if name in values
    }
    if not data:
        return None
    contact = _validated(NewContact, {**data, "main": True}, prefix="contact_")
    assert not isinstance(contact, NewCustomer)
    if isinstance(contact, list) and "name" not in data:
        # A contact needs a name; pydantic says so only once every field is valid.
        unnamed = RowError("contact_name", "a contact needs a name")
        return [unnamed, *(error for error in contact if error.field != "contact_name")]
    return contact


def _validated(
    model: type[NewCustomer] | type[NewContact], data: dict[str, Any], *, prefix: str
) -> NewCustomer | NewContact | list[RowError]:
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        return [_row_error(error, prefix) for error in invalid.errors(include_input=False)]


def _row_error(error: Mapping[str, Any], prefix: str) -> RowError:
    location = [str(part) for part in error["loc"] if not isinstance(part, int)]
    if location[:1] == ["main_location"]:
        location = location[1:] or ["main_location"]
    field = f"{prefix}{location[0]}" if location else None
    message = str(error["msg"]).removeprefix("Value error, ")
    return RowError(field, message)


def _errors(parsed: object) -> list[RowError]:
    return parsed if isinstance(parsed, list) else []
