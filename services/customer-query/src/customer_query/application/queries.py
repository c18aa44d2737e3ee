"""The customer queries: list and search, one customer, as of an instant, history, duplicates.

Lists, single customers and duplicates are read from the read model; history and "as of"
from the customer's own stream in the event store, folded through the same view.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from customer_query.application.cursor import decode_cursor, encode_cursor
from customer_query.application.errors import (
    CustomerDeleted,
    CustomerNotFound,
    CustomerNotYetCreated,
    EmptyDuplicateProbe,
)
from customer_query.domain.duplicates import (
    MATCHED_FIELDS,
    DuplicateMatch,
    DuplicateProbe,
    match,
)
from customer_query.domain.instants import aware, instant_text
from customer_query.domain.terms import query_prefixes
from customer_query.domain.view import CustomerView, public
from customerhub_shared.events import Envelope
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.eventstore.chain import verify_stream
from customerhub_shared.readstore import Document, Query, ReadStore

# Merged and deleted customers are redirects and tombstones: listed only when asked for.
LISTED_BY_DEFAULT = ("active", "archived", "anonymised")
# The list shows customers in use; archived and anonymised ones when asked (`include`).
SHOWN_IN_LIST = ("active",)
SORTS: dict[str, tuple[str, bool]] = {
    "name": ("sort_name", False),
    "-name": ("sort_name", True),
    "created_at": ("created_at", False),
    "-created_at": ("created_at", True),
    "updated_at": ("updated_at", False),
    "-updated_at": ("updated_at", True),
    "customer_number": ("customer_number", False),
}
MAX_MERGE_HOPS = 5
DUPLICATES_SHOWN = 10
_CANDIDATES_PER_QUERY = 100
_QUICK_CANDIDATES = 20
_NAME_STEM_LENGTH = 4
_MAX_NAME_STEMS = 5
# What scoring, ordering and answering a candidate read (whole documents cost their decoding).
_CANDIDATE_FIELDS = (*MATCHED_FIELDS, "id", "name", "status", "sort_name")

JSON = dict[str, Any]
Loader = Callable[[str], Awaitable[Document | None]]


class CustomerStreamReader(Protocol):
    """Reads one customer's stream from the event store, decrypted where its key still exists."""

    async def version(self, customer_id: UUID) -> int: ...

    async def read(self, customer_id: UUID, *, from_version: int = 0) -> list[Envelope]: ...

    async def recorded(self, customer_id: UUID) -> list[RecordedEvent]:
        """The stream's events as stored (sealed), oldest first."""
        ...


class SentNotifications(Protocol):
    """The notifications sent to a customer's contacts, as entries of its timeline."""

    async def sent(self, customer_id: UUID, *, limit: int) -> list[JSON]:
        """Newest first: `activity_id`, `kind` "notification", `text`, `occurred_at`, `by`."""
        ...


@dataclass(frozen=True)
class ReadModel:
    """The customers collection of the generation that serves now."""

    store: ReadStore
    collection: str

    async def get(self, customer_id: str) -> Document | None:
        return await self.store.get(self.collection, customer_id)

    async def find(self, query: Query) -> list[Document]:
        return await self.store.find(self.collection, query)

    async def find_each(self, queries: Sequence[Query]) -> list[list[Document]]:
        return await self.store.find_each(self.collection, queries)


@dataclass(frozen=True)
class CustomerSearch:
    q: str | None = None
    labels: tuple[str, ...] = ()
    role: str | None = None
    region: str | None = None
    status: str | None = None
    include: tuple[str, ...] = ()
    segment: str | None = None
    kind: str | None = None
    employee: str | None = None
    language: str | None = None
    sort: str = "name"
    cursor: str | None = None
    limit: int = 50


# -- list and search -----------------------------------------------------------------------------


async def search_customers(read_model: ReadModel, search: CustomerSearch) -> JSON:
    """A page of customers and the cursor of the next one (None on the last page)."""
    sort_field, _ = SORTS[search.sort]
    found = await read_model.find(_search_query(search))
    page = found[: search.limit]
    next_cursor = None
    if len(found) > search.limit:
        last = page[-1]
        next_cursor = encode_cursor(search.sort, last.get(sort_field), last["_id"])
    return {"items": [public(customer) for customer in page], "next_cursor": next_cursor}


def _search_query(search: CustomerSearch) -> Query:
    sort_field, descending = SORTS[search.sort]
    equals = {
        "region": search.region,
        "status": search.status,
        "segment": search.segment,
        "kind": search.kind,
        "language": search.language,
    }
    contains = {"roles": search.role, "employees": search.employee}
    any_of: dict[str, tuple[str, ...]] = {"labels": search.labels} if search.labels else {}
    if not search.status:
        any_of["status"] = (*SHOWN_IN_LIST, *search.include)
    return Query(
        prefixes=query_prefixes(search.q),
        equals={name: value for name, value in equals.items() if value is not None},
        contains={name: value for name, value in contains.items() if value is not None},
        any_of=any_of,
        sort=sort_field,
        descending=descending,
        after=decode_cursor(search.cursor, search.sort) if search.cursor else None,
        limit=search.limit + 1,  # one more than shown tells whether a next page exists
    )


# -- one customer, now or as of an instant -------------------------------------------------------


async def customer_by_id(read_model: ReadModel, customer_id: UUID) -> JSON:
    """The customer; a merged id answers with its survivor, `merged_into` naming it."""
    requested = await read_model.get(str(customer_id))
    if requested is None:
        raise CustomerNotFound(str(customer_id))
    return await _answer_for(requested, read_model.get)


async def customer_as_of(
    streams: CustomerStreamReader, view: CustomerView, customer_id: UUID, as_of: datetime
) -> JSON:
    """The customer as it was at `as_of`, rebuilt from its stream through the view."""

    async def state_at(wanted_id: str) -> Document | None:
        return fold(await streams.read(UUID(wanted_id)), view, as_of=as_of)

    history = await streams.read(customer_id)
    if not history:
        raise CustomerNotFound(str(customer_id))
    requested = fold(history, view, as_of=as_of)
    if requested is None:
        raise CustomerNotYetCreated(str(customer_id), instant_text(as_of))
    return {**await _answer_for(requested, state_at), "as_of": instant_text(as_of)}


def fold(history: Sequence[Envelope], view: CustomerView, *, as_of: datetime) -> Document | None:
    """The view's document after the events recorded at or before `as_of`."""
    document: Document | None = None
    for envelope in history:
        if aware(envelope.recorded_at) > aware(as_of):
            break
        document = view.apply(document, envelope)
    return document


async def _answer_for(requested: Document, load: Loader) -> JSON:
    customer = await _survivor(requested, load)
    if customer["status"] == "deleted":
        raise CustomerDeleted(customer["id"])
    answer = public(customer)
    if customer is not requested:
        answer["merged_into"] = customer["id"]
        answer["requested_id"] = requested["id"]
    return answer


async def _survivor(customer: Document, load: Loader) -> Document:
    """Follow merges (a few hops at most); a survivor not projected yet leaves the redirect."""
    for _ in range(MAX_MERGE_HOPS):
        if customer["status"] != "merged" or not customer.get("merged_into"):
            break
        survivor = await load(customer["merged_into"])
        if survivor is None:
            break
        customer = survivor
    return customer


# -- timeline ----------------------------------------------------------------------------------

TIMELINE_NOTIFICATIONS = 200


async def customer_timeline(
    read_model: ReadModel,
    customer_id: UUID,
    *,
    limit: int,
    before: str | None,
    notifications: SentNotifications | None,
) -> JSON:
    """Activities and sent notifications, newest first; `before` an instant as stored."""
    customer = await read_model.get(str(customer_id))
    if customer is None:
        raise CustomerNotFound(str(customer_id))
    if customer["status"] == "deleted":
        raise CustomerDeleted(customer["id"])
    entries: list[JSON] = [
        {**activity, "channel": None, "template": None}
        for activity in customer.get("activities", ())
    ]
    if notifications is not None:
        entries += await notifications.sent(customer_id, limit=TIMELINE_NOTIFICATIONS)
    if before is not None:
        entries = [entry for entry in entries if entry["occurred_at"] < before]
    entries.sort(key=lambda entry: (entry["occurred_at"], entry["activity_id"]), reverse=True)
    page = entries[:limit]
    more = len(entries) > limit
    return {
        "customer_id": str(customer_id),
        "items": page,
        "next_before": page[-1]["occurred_at"] if more else None,
    }


# -- history ---------------------------------------------------------------------------------------


async def customer_history(
    streams: CustomerStreamReader, customer_id: UUID, *, before: int | None, limit: int
) -> JSON:
    """The customer's events newest first, `limit` at a time, before revision `before`."""
    version = await streams.version(customer_id)
    if version == 0:
        raise CustomerNotFound(str(customer_id))
    end = version if before is None else min(before, version)
    start = max(0, end - limit)
    page = [e for e in await streams.read(customer_id, from_version=start) if e.revision < end]
    return {
        "customer_id": str(customer_id),
        "version": version,
        "items": [history_entry(envelope) for envelope in reversed(page)],
        "next_before": start if start > 0 else None,
    }


async def verify_customer_history(streams: CustomerStreamReader, customer_id: UUID) -> JSON:
    """Walk the customer's hash chain: verified with its head, or the first event that breaks."""
    recorded = await streams.recorded(customer_id)
    if not recorded:
        raise CustomerNotFound(str(customer_id))
    return verify_stream(recorded[0].stream, recorded).verdict()


def history_entry(envelope: Envelope) -> JSON:
    """One event for auditors: what changed, when, by whom, in answer to which request."""
    return {
        "revision": envelope.revision,
        "position": envelope.position,
        "event_id": str(envelope.event_id),
        "type": envelope.event_type,
        "time": instant_text(envelope.recorded_at),
        "actor": envelope.metadata.actor,
        "correlation_id": envelope.metadata.correlation_id,
        "changes": envelope.event.model_dump(mode="json", exclude={"customer_id"}),
        "personal_data_erased": envelope.personal_data_erased,
    }


# -- possible duplicates ---------------------------------------------------------------------------


async def possible_duplicates(
    read_model: ReadModel,
    probe: DuplicateProbe,
    *,
    exclude_id: str | None = None,
    quick: bool = False,
) -> JSON:
    """The customers most likely to be the one described, best first.

    `quick` (a create's warning) compares fewer holders of each name stem and the same
    email, not the phone; the route compares more, and the phone too.
    """
    if probe.is_empty:
        raise EmptyDuplicateProbe()
    matches = [
        (customer, found)
        for customer in (await _duplicate_candidates(read_model, probe, quick)).values()
        if customer["_id"] != exclude_id and (found := match(probe, customer)) is not None
    ]
    matches.sort(key=lambda pair: (-pair[1].score, pair[0].get("sort_name") or "", pair[0]["_id"]))
    return {"items": [_duplicate(c, found) for c, found in matches[:DUPLICATES_SHOWN]]}


async def _duplicate_candidates(
    read_model: ReadModel, probe: DuplicateProbe, quick: bool
) -> dict[str, Document]:
    """Everyone sharing a word stem of the name, the email or the phone; scored afterwards."""
    candidates: dict[str, Document] = {}
    queries = _quick_queries(probe) if quick else _candidate_queries(probe)
    for found in await read_model.find_each(queries):
        for customer in found:
            candidates.setdefault(customer["_id"], customer)
    return candidates


def _candidate_queries(probe: DuplicateProbe, limit: int = _CANDIDATES_PER_QUERY) -> list[Query]:
    live = {"status": LISTED_BY_DEFAULT}
    stems = list(dict.fromkeys(w[:_NAME_STEM_LENGTH] for w in probe.name_words if len(w) >= 3))
    stems = stems[:_MAX_NAME_STEMS]
    # All stems together first, so a common word's many holders cannot crowd out the match.
    groups = [tuple(stems)] * (len(stems) > 1) + [(stem,) for stem in stems]
    shown = _CANDIDATE_FIELDS
    queries = [Query(prefixes=g, any_of=live, limit=limit, fields=shown) for g in groups]
    addresses = {"emails": probe.email, "phones": probe.phone_key}
    queries += [
        Query(contains={name: value}, any_of=live, limit=limit, fields=shown)
        for name, value in addresses.items()
        if value
    ]
    return queries


def _quick_queries(probe: DuplicateProbe) -> list[Query]:
    """Fewer holders of each stem, the email, not the phone."""
    return _candidate_queries(replace(probe, phone_key=None), limit=_QUICK_CANDIDATES)


def _duplicate(customer: Document, found: DuplicateMatch) -> JSON:
    return {
        "customer_id": customer["id"],
        "name": customer.get("name"),
        "status": customer["status"],
        "score": found.score,
        "reasons": list(found.reasons),
    }
