"""The customers an import matches rows against, read from customer-query's read model."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from customer_query.application.queries import possible_duplicates
from customer_query.domain.duplicates import DuplicateProbe
from customer_query.entrypoints.http.service import QueryService
from customerhub_shared.readstore import Query

_MATCHED_STATUSES = ("active", "archived")


@dataclass(frozen=True)
class ReadModelDirectory:
    """customer-command's CustomerDirectory port, over the read model of customer-query."""

    queries: QueryService

    async def numbered(self, customer_number: str) -> UUID | None:
        read_model = await self.queries.read_model()
        query = Query(
            equals={"customer_number": customer_number},
            any_of={"status": _MATCHED_STATUSES},
            limit=1,
        )
        found = await read_model.find(query)
        return UUID(found[0]["_id"]) if found else None

    async def likely_duplicates(
        self, *, name: str, email: str | None, phone: str | None
    ) -> list[tuple[str, float]]:
        probe = DuplicateProbe.of(name=name, email=email, phone=phone)
        answer = await possible_duplicates(await self.queries.read_model(), probe)
        return [(item["customer_id"], float(item["score"])) for item in answer["items"]]
