"""The query handlers against in-memory ports: search, one customer, as of, history, duplicates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from customer_query.application import queries
from customer_query.application.cursor import decode_cursor, encode_cursor
from customer_query.application.errors import (
    CustomerDeleted,
    CustomerNotFound,
    CustomerNotYetCreated,
    EmptyDuplicateProbe,
    InvalidCursor,
)
from customer_query.application.queries import CustomerSearch, ReadModel
from customer_query.domain.duplicates import DuplicateProbe
from customer_query.domain.view import CustomerView
from customerhub_shared.events.customer import (
    CustomerArchived,
    CustomerDetailsChanged,
    CustomerLabelAdded,
    CustomerMergedInto,
)
from customerhub_shared.events.customer import (
    CustomerDeleted as CustomerDeletedEvent,
)
from tests.unit.query.builders import START, Stream, created
from tests.unit.query.fakes import InMemoryCustomerStreams, InMemoryReadStore

COLLECTION = "customers_g1"


class Customers:
    """A read model and the streams it was projected from, filled by the tests."""

    def __init__(self) -> None:
        self.store = InMemoryReadStore()
        self.read_model = ReadModel(self.store, COLLECTION)
        self.streams = InMemoryCustomerStreams()
        self.by_name: dict[str, UUID] = {}

    def add(self, name: str, *later: Any, **fields: Any) -> UUID:
        plain: dict[str, Any] = {"internal_name": None, "labels": (), "email": None}
        event = created(name=name, **(plain | fields))
        customer_id = event.customer_id
        stream = Stream().record(event)
        stream.record(*(make(customer_id) for make in later))
        self.store.put(COLLECTION, stream.view())
        self.streams.add(customer_id, stream.envelopes)
        self.by_name[name] = customer_id
        return customer_id

    async def search(self, **fields: Any) -> dict[str, Any]:
        return await queries.search_customers(self.read_model, CustomerSearch(**fields))

    async def names(self, **fields: Any) -> list[str]:
        return [customer["name"] for customer in (await self.search(**fields))["items"]]


def archived(customer_id: UUID) -> CustomerArchived:
    return CustomerArchived(customer_id=customer_id)


def deleted(customer_id: UUID) -> CustomerDeletedEvent:
    return CustomerDeletedEvent(customer_id=customer_id)


ARCHIVED = ("archived",)


@pytest.fixture
def customers() -> Customers:
    found = Customers()
    found.add("Boulangerie Martin", customer_number="C10001", labels=("vip",))
    found.add("Élodie Dubois", customer_number="C10002", region="BE", email="elo@db.example")
    found.add("Garage Martinez", archived, customer_number="C10003", roles=("supplier",))
    found.add("Martin Ancien", deleted, customer_number="C10004")
    return found


async def test_search_matches_word_prefixes_whatever_the_case_and_accents(
    customers: Customers,
) -> None:
    assert await customers.names(q="boul") == ["Boulangerie Martin"]
    assert await customers.names(q="MARTIN", include=ARCHIVED) == [
        "Boulangerie Martin",
        "Garage Martinez",
    ]
    assert await customers.names(q="élo") == ["Élodie Dubois"]
    assert await customers.names(q="ELO dub") == ["Élodie Dubois"]
    assert await customers.names(q="martin elodie") == []


async def test_search_finds_numbers_emails_and_phones(customers: Customers) -> None:
    assert await customers.names(q="C10002") == ["Élodie Dubois"]
    assert await customers.names(q="elo@db") == ["Élodie Dubois"]
    assert len(await customers.names(q="01 40 00", include=ARCHIVED)) == 3


async def test_merged_and_deleted_are_left_out_unless_asked_for(customers: Customers) -> None:
    assert "Martin Ancien" not in await customers.names()
    assert await customers.names(status="deleted") == [None], "a tombstone has no name"
    assert await customers.names(status="archived") == ["Garage Martinez"]


async def test_archived_are_hidden_unless_included(customers: Customers) -> None:
    assert "Garage Martinez" not in await customers.names()
    assert "Garage Martinez" in await customers.names(include=ARCHIVED)


async def test_filters_by_label_role_and_region(customers: Customers) -> None:
    assert await customers.names(labels=("vip",)) == ["Boulangerie Martin"]
    assert await customers.names(role="supplier", include=ARCHIVED) == ["Garage Martinez"]
    assert await customers.names(region="BE") == ["Élodie Dubois"]


async def test_sorts_by_name_number_and_time(customers: Customers) -> None:
    assert await customers.names(sort="-name", include=ARCHIVED) == [
        "Garage Martinez",
        "Élodie Dubois",
        "Boulangerie Martin",
    ]
    by_number = await customers.search(sort="customer_number", include=ARCHIVED)
    assert [c["customer_number"] for c in by_number["items"]] == ["C10001", "C10002", "C10003"]


async def test_answers_leave_out_internal_fields(customers: Customers) -> None:
    item = (await customers.search(q="boul"))["items"][0]
    assert "search_terms" not in item and "_id" not in item and "sort_name" not in item


async def test_cursor_pages_through_everything_once(customers: Customers) -> None:
    for number in range(5):
        customers.add(f"Client {number}")
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await customers.search(sort="-name", limit=2, cursor=cursor, include=ARCHIVED)
        seen += [customer["id"] for customer in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everyone = await customers.search(sort="-name", limit=200, include=ARCHIVED)
    assert seen == [customer["id"] for customer in everyone["items"]]
    assert len(seen) == 8


async def test_a_last_full_page_has_no_next_cursor(customers: Customers) -> None:
    page = await customers.search(limit=3, include=ARCHIVED)
    assert len(page["items"]) == 3 and page["next_cursor"] is None
    assert (await customers.search(q="zzz"))["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["not base64 !", "bm9wZQ", encode_cursor("-name", "a", "x")])
async def test_a_foreign_or_broken_cursor_is_refused(customers: Customers, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        await customers.search(sort="name", cursor=cursor)


def test_a_cursor_round_trips_its_sort_value_and_id() -> None:
    assert decode_cursor(encode_cursor("name", "élodie", "id-1"), "name") == ("élodie", "id-1")
    assert decode_cursor(encode_cursor("customer_number", None, "x"), "customer_number") == (
        None,
        "x",
    )


async def test_one_customer_is_answered_without_internal_fields(customers: Customers) -> None:
    customer_id = customers.by_name["Boulangerie Martin"]
    answer = await queries.customer_by_id(customers.read_model, customer_id)
    assert answer["id"] == str(customer_id) and "search_terms" not in answer
    assert "requested_id" not in answer


async def test_unknown_customer_is_not_found(customers: Customers) -> None:
    with pytest.raises(CustomerNotFound):
        await queries.customer_by_id(customers.read_model, uuid4())


async def test_deleted_customer_is_gone(customers: Customers) -> None:
    with pytest.raises(CustomerDeleted):
        await queries.customer_by_id(customers.read_model, customers.by_name["Martin Ancien"])


async def test_a_merged_id_answers_with_its_survivor(customers: Customers) -> None:
    survivor = customers.by_name["Boulangerie Martin"]
    duplicate = customers.add(
        "Boulangerie Martin bis",
        lambda cid: CustomerMergedInto(customer_id=cid, survivor_id=survivor),
    )
    answer = await queries.customer_by_id(customers.read_model, duplicate)
    assert answer["id"] == str(survivor) and answer["name"] == "Boulangerie Martin"
    assert answer["merged_into"] == str(survivor) and answer["requested_id"] == str(duplicate)


async def test_merges_are_followed_across_hops(customers: Customers) -> None:
    final = customers.by_name["Élodie Dubois"]
    middle = customers.add(
        "Middle", lambda cid: CustomerMergedInto(customer_id=cid, survivor_id=final)
    )
    first = customers.add(
        "First", lambda cid: CustomerMergedInto(customer_id=cid, survivor_id=middle)
    )
    answer = await queries.customer_by_id(customers.read_model, first)
    assert answer["id"] == str(final) and answer["requested_id"] == str(first)


async def test_as_of_shows_the_customer_as_it_was(customers: Customers) -> None:
    customer_id = customers.add(
        "Ancien Nom",
        lambda cid: CustomerDetailsChanged(customer_id=cid, changed=("name",), name="Nouveau"),
    )
    view = CustomerView()
    before = await queries.customer_as_of(customers.streams, view, customer_id, START)
    after = await queries.customer_as_of(
        customers.streams, view, customer_id, START + timedelta(minutes=1)
    )
    assert before["name"] == "Ancien Nom" and before["version"] == 1
    assert before["as_of"] == "2026-03-01T09:00:00.000000Z"
    assert after["name"] == "Nouveau" and after["version"] == 2


async def test_as_of_before_creation_is_not_yet_a_customer(customers: Customers) -> None:
    customer_id = customers.by_name["Boulangerie Martin"]
    with pytest.raises(CustomerNotYetCreated):
        await queries.customer_as_of(
            customers.streams, CustomerView(), customer_id, START - timedelta(seconds=1)
        )
    with pytest.raises(CustomerNotFound):
        await queries.customer_as_of(customers.streams, CustomerView(), uuid4(), START)


async def test_history_is_newest_first_and_paged_by_revision(customers: Customers) -> None:
    labels = [
        (lambda cid, n=n: CustomerLabelAdded(customer_id=cid, label=f"l{n}")) for n in range(4)
    ]
    customer_id = customers.add("Historique", *labels)
    first = await queries.customer_history(customers.streams, customer_id, before=None, limit=2)
    assert [entry["revision"] for entry in first["items"]] == [4, 3]
    assert first["next_before"] == 3 and first["version"] == 5
    entry = first["items"][0]
    assert entry["type"] == "customerhub.customer.label_added.v1"
    assert entry["changes"] == {"label": "l3"} and entry["actor"] == "alice"
    assert entry["personal_data_erased"] is False
    rest = await queries.customer_history(customers.streams, customer_id, before=3, limit=10)
    assert [entry["revision"] for entry in rest["items"]] == [2, 1, 0]
    assert rest["next_before"] is None
    assert rest["items"][-1]["changes"]["name"] == "Historique"


async def test_history_of_an_unknown_customer_is_not_found(customers: Customers) -> None:
    with pytest.raises(CustomerNotFound):
        await queries.customer_history(customers.streams, uuid4(), before=None, limit=5)


async def duplicates(customers: Customers, **probe: Any) -> list[dict[str, Any]]:
    answer = await queries.possible_duplicates(
        customers.read_model,
        DuplicateProbe.of(**{"name": None, "email": None, "phone": None} | probe),
    )
    items: list[dict[str, Any]] = answer["items"]
    return items


async def test_duplicates_are_ranked_best_first(customers: Customers) -> None:
    found = await duplicates(customers, name="Boulangerie Martín", email="elo@db.example")
    assert [(c["name"], c["score"]) for c in found] == [
        ("Boulangerie Martin", 1.0),
        ("Élodie Dubois", 0.9),
    ]
    assert found[0]["reasons"] == ["same_name"] and found[1]["reasons"] == ["same_email"]
    assert set(found[0]) == {"customer_id", "name", "status", "score", "reasons"}


async def test_duplicates_leave_out_merged_and_deleted(customers: Customers) -> None:
    assert await duplicates(customers, name="Martin Ancien") == []


async def test_a_near_duplicate_name_is_found(customers: Customers) -> None:
    found = await duplicates(customers, name="Boulangeri Martin")
    assert [c["name"] for c in found] == ["Boulangerie Martin"] and found[0]["score"] > 0.9


async def test_a_probe_without_anything_is_refused(customers: Customers) -> None:
    with pytest.raises(EmptyDuplicateProbe):
        await duplicates(customers)


async def test_duplicates_can_leave_the_customer_itself_out(customers: Customers) -> None:
    customer_id = customers.by_name["Boulangerie Martin"]
    answer = await queries.possible_duplicates(
        customers.read_model,
        DuplicateProbe.of(name="Boulangerie Martin", email=None, phone=None),
        exclude_id=str(customer_id),
    )
    assert answer["items"] == []
