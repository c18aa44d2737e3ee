"""The in-memory event store these tests use keeps the event-store contract."""

from __future__ import annotations

import pytest

from tests.integration.eventstore.contract import EventStoreContract
from tests.unit.equipment.fakes import InMemoryEventStore


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> InMemoryEventStore:
        return InMemoryEventStore()
