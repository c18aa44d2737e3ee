"""Event types by contract name, and the upcasters that turn old versions into current ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from customerhub_shared.events.base import DomainEvent

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    pass


class EventRegistry:
    def __init__(self, event_types: Iterable[type[DomainEvent]]) -> None:
        self._types: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[str, tuple[str, Upcaster]] = {}
        for event_type in event_types:
            if event_type.type_name in self._types:
                raise ValueError(f"{event_type.type_name} is registered twice")
            self._types[event_type.type_name] = event_type

    def register_upcaster(self, old_type: str, new_type: str, upcast: Upcaster) -> None:
        """Old events stay as stored; reading turns `old_type` data into `new_type` data."""
        self.event_class(new_type)
        self._upcasters[old_type] = (new_type, upcast)

    def superseded_by(self, type_name: str) -> str | None:
        """The type an old type's events are read as (None for a current type)."""
        upcaster = self._upcasters.get(type_name)
        return upcaster[0] if upcaster is not None else None

    def upcast(self, type_name: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        while type_name in self._upcasters:
            type_name, upcast = self._upcasters[type_name]
            data = upcast(data)
        return type_name, data

    def event_class(self, type_name: str) -> type[DomainEvent]:
        try:
            return self._types[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None

    def __iter__(self) -> Any:
        return iter(self._types.values())


def default_registry() -> EventRegistry:
    from customerhub_shared.events.customer import CUSTOMER_EVENTS, CUSTOMER_UPCASTERS
    from customerhub_shared.events.equipment import EQUIPMENT_EVENTS

    registry = EventRegistry((*CUSTOMER_EVENTS, *EQUIPMENT_EVENTS))
    for old_type, new_type, upcast in CUSTOMER_UPCASTERS:
        registry.register_upcaster(old_type, new_type, upcast)
    return registry
