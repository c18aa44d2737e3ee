"""The compatibility rules, shown on schemas generated the way the published ones are."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

import pytest

from customerhub_shared.events.base import DomainEvent, Personal
from customerhub_shared.events.schemas import event_schema
from tests.contract.compatibility import breaking_changes

TYPE = "customerhub.customer.sampled.v1"


class Address(DomainEvent):
    city: str | None = None


class Sampled(DomainEvent):
    type_name: ClassVar[str] = TYPE
    customer_id: UUID
    tier: Literal["gold", "silver"]
    note: str | None = None
    count: int = 0
    address: Address | None = None
    email: Personal[str] = None
    tags: tuple[str, ...] = ()


def changes(new_version: type[DomainEvent]) -> list[str]:
    return breaking_changes({TYPE: schema(Sampled)}, {TYPE: schema(new_version)})


def schema(event_type: type[DomainEvent]) -> dict[str, Any]:
    return event_schema(event_type)


def test_the_same_schema_is_compatible() -> None:
    assert changes(Sampled) == []


def test_adding_an_optional_field_is_compatible() -> None:
    class WithOptional(Sampled):
        region: str | None = None

    assert changes(WithOptional) == []


def test_adding_an_enum_value_is_compatible() -> None:
    class MoreTiers(Sampled):
        tier: Literal["gold", "silver", "bronze"]

    assert changes(MoreTiers) == []


def test_adding_a_new_event_type_is_compatible() -> None:
    assert breaking_changes({}, {TYPE: schema(Sampled)}) == []


def test_removing_a_field_is_breaking() -> None:
    class WithoutNote(DomainEvent):
        type_name: ClassVar[str] = TYPE
        customer_id: UUID
        tier: Literal["gold", "silver"]
        count: int = 0
        address: Address | None = None
        email: Personal[str] = None
        tags: tuple[str, ...] = ()

    assert changes(WithoutNote) == [f"{TYPE}.note: the field was removed"]


@pytest.mark.parametrize(
    ("annotation", "field"),
    [(str, "count"), (float, "count"), (int | None, "count"), (list[int], "tags")],
)
def test_changing_a_fields_type_is_breaking(annotation: Any, field: str) -> None:
    changed = type(
        "Changed",
        (Sampled,),
        {"__annotations__": {field: annotation}, field: 0 if field == "count" else ()},
    )
    found = changes(changed)
    assert found and all(f"{TYPE}.{field}" in problem for problem in found), found


def test_changing_a_nested_fields_type_is_breaking() -> None:
    class OtherAddress(DomainEvent):
        city: int | None = None

    class NestedChange(Sampled):
        address: OtherAddress | None = None

    assert changes(NestedChange) == [
        f"{TYPE}.address.city: type changed from null | string to integer | null"
    ]


def test_making_an_optional_field_required_is_breaking() -> None:
    class RequiredNote(Sampled):
        note: str | None

    assert changes(RequiredNote) == [f"{TYPE}.note: an optional field became required"]


def test_adding_a_required_field_is_breaking() -> None:
    class NewRequired(Sampled):
        region: str

    assert changes(NewRequired) == [f"{TYPE}.region: a new field became required"]


def test_removing_an_enum_value_is_breaking() -> None:
    class FewerTiers(Sampled):
        tier: Literal["gold"]

    assert changes(FewerTiers) == [f"{TYPE}.tier: enum value 'silver' was removed"]


def test_moving_a_field_into_the_sealed_personal_data_is_breaking() -> None:
    class SealedNote(Sampled):
        note: Personal[str] = None

    assert changes(SealedNote) == [f"{TYPE}.note: moved into the sealed `_personal` data"]


def test_removing_an_event_type_is_breaking() -> None:
    assert breaking_changes({TYPE: schema(Sampled)}, {}) == [
        f"{TYPE}: the event type was removed (stored events keep it)"
    ]
