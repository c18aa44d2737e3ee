"""The port through which a create warns about customers it may duplicate.

Scoring lives with the customers read model (customer-query); the composition root that
holds both gives this service a finder, so neither service imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class PossibleDuplicate:
    customer_id: UUID
    score: float
    reasons: tuple[str, ...]

    def answer(self) -> dict[str, object]:
        return {
            "customer_id": str(self.customer_id),
            "score": self.score,
            "reasons": list(self.reasons),
        }


class DuplicateFinder(Protocol):
    async def similar(
        self, *, name: str, email: str | None, phone: str | None, exclude_id: UUID
    ) -> list[PossibleDuplicate]:
        """Customers in use that a new one with these details may duplicate, best first."""
        ...
