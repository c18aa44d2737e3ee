"""The customers an import matches rows against, read from customer-query's read model."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from uuid import UUID

from customer_command.application.imports.ports import ClaimedRow
from customer_query.application.queries import ReadModel
from customer_query.domain import terms
from customer_query.domain.duplicates import MATCHED_FIELDS, DuplicateProbe, match
from customer_query.entrypoints.http.service import QueryService
from customerhub_shared.readstore import Document, Query

_MATCHED_STATUSES = ("active", "archived")
_LIVE = {"status": ("active", "archived", "anonymised")}
_STEM_LENGTH, _MAX_STEMS, _CANDIDATES = 4, 5, 100
_CANDIDATE_FIELDS = (*MATCHED_FIELDS, "id")
# Claims kept per run: rows further apart than this have long reached the read model.
_CLAIMS_KEPT = 20_000


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

    def claims(self) -> Claims:
        return Claims()


@dataclass
class Claims:
    """customer-command's NewCustomerClaims: the customers an import run creates, held as the
    read model would hold them (name key, emails, phones) and found by the same blocking
    keys as its queries (every word stem, or all but one; an email; a phone)."""

    kept: int = _CLAIMS_KEPT
    _customers: OrderedDict[str, Document] = field(default_factory=OrderedDict)
    _by_key: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def claim(
        self, customer_id: UUID, row: ClaimedRow, *, at_least: float
    ) -> list[tuple[str, float]]:
        probe = DuplicateProbe.of(name=row.name, email=row.email, phone=row.phone)
        candidates = self._candidates(probe) - {str(customer_id)}
        scored = [
            (candidate, found.score)
            for candidate in candidates
            if (found := match(probe, self._customers[candidate])) is not None
            and found.score >= at_least
        ]
        if scored:
            return sorted(scored, key=lambda pair: (-pair[1], pair[0]))
        self._add(str(customer_id), row)
        return []

    def known(self, customer_id: UUID, row: ClaimedRow) -> None:
        self._add(str(customer_id), row)

    def release(self, customer_id: UUID) -> None:
        customer = self._customers.pop(str(customer_id), None)
        if customer is not None:
            for key in customer["keys"]:
                self._by_key[key].discard(customer["id"])

    def _candidates(self, probe: DuplicateProbe) -> set[str]:
        found: set[str] = set()
        stems = _stems(probe)
        groups = [stems] if stems else []
        if len(stems) >= 3:
            groups += [list(group) for group in combinations(stems, len(stems) - 1)]
        for group in groups:
            holders = [self._by_key.get(f"w:{stem}", set()) for stem in group]
            found |= set.intersection(*holders)
        if probe.email:
            found |= self._by_key.get(f"e:{probe.email}", set())
        if probe.phone_key:
            found |= self._by_key.get(f"p:{probe.phone_key}", set())
        return found

    def _add(self, customer_id: str, row: ClaimedRow) -> None:
        name_key = terms.name_key(row.name)
        emails = {e for email in (row.email, row.contact_email) if (e := terms.email_key(email))}
        phones = {k for phone in (row.phone, row.contact_phone) for k in terms.phone_keys(phone)}
        # A probe's stem is a word's first 3 or 4 letters, found as a prefix of any name word.
        words = [word for word in name_key.split() if len(word) >= 3]
        keys = list(dict.fromkeys(f"w:{w[:n]}" for w in words for n in (3, _STEM_LENGTH)))
        keys += [f"e:{email}" for email in emails] + [f"p:{phone}" for phone in phones]
        self.release(UUID(customer_id))
        self._customers[customer_id] = {
            "id": customer_id,
            "name_key": name_key,
            "emails": sorted(emails),
            "phones": sorted(phones),
            "keys": keys,
        }
        for key in keys:
            self._by_key[key].add(customer_id)
        while len(self._customers) > self.kept:
            oldest = next(iter(self._customers))
            self.release(UUID(oldest))


def _stems(probe: DuplicateProbe) -> list[str]:
    stems = list(dict.fromkeys(w[:_STEM_LENGTH] for w in probe.name_words if len(w) >= 3))
    return stems[:_MAX_STEMS]


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
    stems = _stems(probe)
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
