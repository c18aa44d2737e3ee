"""Event contracts: defined once here, versioned, with JSON Schema generated from code."""

from customerhub_shared.events.base import DomainEvent, Envelope, EventMetadata, Personal
from customerhub_shared.events.registry import EventRegistry, UnknownEventType, default_registry

__all__ = [
    "DomainEvent",
    "Envelope",
    "EventMetadata",
    "EventRegistry",
    "Personal",
    "UnknownEventType",
    "default_registry",
]
