"""The customers an import matches rows against, read from customer-query's read model."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from uuid import UUID

from customer_query.application.queries import ReadModel
from customer_query.domain.duplicates import MATCHED_FIELDS, DuplicateProbe, match
from customer_query.entrypoints.http.service import QueryService
from customerhub_shared.readstore import Document, Query

_MATCHED_STATUSES = ("active", "archived")
_LIVE = {"status": ("active", "archived", "anonymised")}
_STEM_LENGTH, _MAX_STEMS, _CANDIDATES = 4, 5, 100
_CANDIDATE_FIELDS = (*MATCHED_FIELDS, "id")


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
        """Customers the duplicate scoring of `GET /v1/customers/duplicates` finds likely,
        best first."""
        probe = DuplicateProbe.of(name=name, email=email, phone=phone)
        candidates = await _candidates(await self.queries.read_model(), probe)
        scored = [
            (customer["id"], found.score)
            for customer in candidates.values()
            if (found := match(probe, customer)) is not None
        ]
        return sorted(scored, key=lambda pair: -pair[1])


async def _candidates(read_model: ReadModel, probe: DuplicateProbe) -> dict[str, Document]:
    found: dict[str, Document] = {}
    for answer in await read_model.find_each(_likely_queries(probe)):
        for customer in answer:
            found.setdefault(customer["_id"], customer)
    return found


def _likely_queries(probe: DuplicateProbe) -> list[Query]:
    """Narrower than the duplicates route's candidates, since only likely ones count here
    (score ≥ 0.8): a name that alike shares every word stem of the probe, or with three words
    or more all but one. Each row of an import would otherwise fetch every holder of a
    common word ('boulangerie', 'sarl')."""
    stems = list(dict.fromkeys(w[:_STEM_LENGTH] for w in probe.name_words if len(w) >= 3))
    stems = stems[:_MAX_STEMS]
    groups = [tuple(stems)] if stems else []
    if len(stems) >= 3:
        groups += list(combinations(stems, len(stems) - 1))
    queries = [
        Query(prefixes=group, any_of=_LIVE, limit=_CANDIDATES, fields=_CANDIDATE_FIELDS)
        for group in groups
    ]
    addresses = {"emails": probe.email, "phones": probe.phone_key}
    queries += [
        Query(contains={name: value}, any_of=_LIVE, limit=_CANDIDATES, fields=_CANDIDATE_FIELDS)
        for name, value in addresses.items()
        if value
    ]
    return queries
