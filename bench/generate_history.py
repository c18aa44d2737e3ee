"""Writes a realistic customer history straight into an event store, as production would.

Each customer is the real `Customer` aggregate of customer-command, driven by commands with
realistic French/German/English content (names with accents, E.164 phones, addresses, labels,
contacts, locations, relations, archive/reactivate, a few merges and anonymisations). What it
records is appended through the real `EventWriter` (real mapper: JSON + AES-GCM sealing of
personal fields under the customer's key, metadata, event ids) into the real store adapter,
with the expected version the command side would send. Keys come from the real keyring; on
SQLite they are created a cohort at a time in one transaction (`--key-batching`, default),
since each `create_key` alone is one fsync (synchronous=FULL).

Each customer's events go in a few appends (several events per append); cohorts of customers
overlap in time, so the global log is interleaved. Merges append the duplicate's
CustomerMergedInto before the survivor's DuplicatesMerged; anonymisation destroys the key(s)
before appending CustomerAnonymised, as the command handlers do.

    uv run python bench/generate_history.py [--customers 100000] [--events 1000000]
        [--data-dir DIR] [--postgres DSN] [--seed 1] [--bookkeeping]

`--events` counts customer events. `--bookkeeping` also writes what the command side writes
besides them (name reservation streams, number-range blocks), as extra events.
The data dir (default: a new temp dir, printed) holds events.db and keys.db (SQLite), the
read store later, and bench-history.json (what was generated, for the other benchmarks).
recorded_at is the real append time: the whole history appears to be written "now".
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import _vocabulary as vocab
from _stats import machine_line

from customer_command.adapters.repository import EventWriter, customer_stream
from customer_command.application.context import CommandContext
from customer_command.application.names import RESERVATION_SECRET_SUBJECT, reservation_stream
from customer_command.application.numbers import RANGE_STREAM
from customer_command.domain import errors as domain_errors
from customer_command.domain.customer import Customer
from customer_command.domain.names import name_key
from customer_command.domain.values import (
    Address,
    ContactPatch,
    CustomerPatch,
    NewContact,
    NewCustomer,
    NewLocation,
    NewRelation,
)
from customer_query.domain import terms
from customerhub_shared.events import DomainEvent, default_registry
from customerhub_shared.events.customer import (
    CustomerNameReleased,
    CustomerNameReserved,
    CustomerNumbersReserved,
    GeoPoint,
    NotifyChannels,
)
from customerhub_shared.eventstore import AppendResult, EventStore
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from customerhub_shared.keyring import KeyDestroyed, KeyRing
from customerhub_shared.keyring.sqlite import SQLiteKeyRing
from customerhub_shared.mapper import EventMapper

MANIFEST = "bench-history.json"
NUMBER_BLOCK = 50  # what CustomerNumberRange reserves at a time


# --- the store and the keyring, measured ------------------------------------------------------


class WriterClock:
    """Sums the time the SQLite store's writer thread spends in its work (appends).

    Wraps the store's SQLiteThreads.write on this instance only; if the adapter's internals
    are not what this expects, nothing is measured (and the report says so).
    """

    def __init__(self, store: EventStore) -> None:
        self.busy = 0.0
        threads = getattr(store, "_db", None)
        write = getattr(threads, "write", None)
        self.active = write is not None and asyncio.iscoroutinefunction(write)
        if not self.active:
            return

        async def timed_write(work: Any) -> Any:
            def timed(db: Any) -> Any:
                began = time.perf_counter()
                try:
                    return work(db)
                finally:
                    self.busy += time.perf_counter() - began

            return await write(timed)

        threads.write = timed_write  # type: ignore[union-attr]


class PreparedKeys(KeyRing):
    """The real keyring behind a cache of the keys created ahead, a cohort at a time.

    `create_key` of a prepared subject answers from the cache (the real keyring made the key
    moments before); everything else goes to the real keyring.
    """

    def __init__(self, inner: KeyRing, *, batching: bool) -> None:
        self.inner = inner
        self.batching = batching
        self._keys: dict[UUID, bytes | None] = {}
        self.seconds = 0.0
        self.created = 0
        self.destroyed = 0

    async def prepare(self, subjects: Sequence[UUID]) -> None:
        began = time.perf_counter()
        ring = self.inner
        if self.batching and _batchable(ring):
            keys = await asyncio.to_thread(_create_in_one_transaction, ring, subjects)
        elif self.batching:
            keys = list(await asyncio.gather(*(ring.create_key(s) for s in subjects)))
        else:
            keys = [await ring.create_key(subject) for subject in subjects]
        self._keys.update(zip(subjects, keys, strict=True))
        self.created += len(subjects)
        self.seconds += time.perf_counter() - began

    def forget(self, subjects: Sequence[UUID]) -> None:
        for subject in subjects:
            self._keys.pop(subject, None)

    async def key_for(self, subject: UUID) -> bytes | None:
        if subject in self._keys:
            return self._keys[subject]
        return await self.inner.key_for(subject)

    async def create_key(self, subject: UUID) -> bytes:
        if subject in self._keys:
            key = self._keys[subject]
            if key is None:
                raise KeyDestroyed(str(subject))
            return key
        return await self.inner.create_key(subject)

    async def destroy(self, subject: UUID) -> None:
        began = time.perf_counter()
        await self.inner.destroy(subject)
        self._keys[subject] = None
        self.destroyed += 1
        self.seconds += time.perf_counter() - began

    async def close(self) -> None:
        await self.inner.close()


def _batchable(ring: KeyRing) -> bool:
    return isinstance(ring, SQLiteKeyRing) and all(
        hasattr(ring, name) for name in ("_db", "_lock", "_create")
    )


def _create_in_one_transaction(ring: Any, subjects: Sequence[UUID]) -> list[bytes]:
    """SQLiteKeyRing's own `_create` for each subject, in one transaction: one fsync for the
    cohort instead of one per key (the keyring runs with synchronous=FULL)."""
    with ring._lock:
        ring._db.execute("BEGIN IMMEDIATE")
    try:
        keys = [ring._create(subject) for subject in subjects]
        with ring._lock:
            ring._db.execute("COMMIT")
    except BaseException:
        with ring._lock:
            ring._db.execute("ROLLBACK")
        raise
    return keys


# --- what each customer will do ---------------------------------------------------------------


@dataclass
class Plan:
    customer_id: UUID
    cohort: int
    index: int
    target: int  # customer events in all, the final one included
    rounds: list[int]  # events per append after the create (round 0 holds the create)
    final: str | None = None  # "merge_duplicate", "merge_survivor", "anonymise"
    partner: int | None = None  # the other customer of a merge (index in the cohort)
    customer: Customer | None = None
    country: vocab.Country | None = None
    domain: str = ""
    written: int = 0
    no_archive: bool = False


@dataclass
class Totals:
    events: int = 0
    bookkeeping_events: int = 0
    appends: int = 0
    customers: int = 0
    by_type: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    refused: collections.Counter[str] = field(default_factory=collections.Counter)


class History:
    def __init__(self, args: argparse.Namespace, store: EventStore, keys: PreparedKeys) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.store = store
        self.keys = keys
        self.writer = EventWriter(store, EventMapper(default_registry()), keys)
        self.totals = Totals()
        self.names: set[str] = set()
        self.ids: list[UUID] = []
        self.number = 10001
        self.range_version = 0
        self.name_versions: dict[str, int] = {}
        self.sample: list[dict[str, Any]] = []
        self.name_words: collections.Counter[str] = collections.Counter()
        self.labels: collections.Counter[str] = collections.Counter()
        self.regions: collections.Counter[str] = collections.Counter()
        self.began = time.perf_counter()
        self.last_report = (self.began, 0)

    # -- planning ------------------------------------------------------------------------

    def targets(self) -> list[int]:
        """Events per customer: skewed (many customers have few, some many), summing exactly."""
        customers, events = self.args.customers, self.args.events
        mean = events / customers
        rng = self.rng
        if mean <= 1:
            raise SystemExit("--events must be more than --customers (each needs a create)")
        shape = 2.0
        wanted = [
            1 + min(int(rng.gammavariate(shape, (mean - 1) / shape) + 0.5), 80)
            for _ in range(customers)
        ]
        diff = events - sum(wanted)
        step = 1 if diff > 0 else -1
        while diff:
            i = rng.randrange(customers)
            if step < 0 and wanted[i] <= 2:
                continue
            wanted[i] += step
            diff -= step
        return wanted

    def plan_cohort(self, cohort: int, targets: list[int]) -> list[Plan]:
        rng = self.rng
        plans = [Plan(uuid.uuid4(), cohort, i, t, []) for i, t in enumerate(targets)]
        # A few merges (duplicate + survivor) and anonymisations, among customers with room.
        roomy = [p for p in plans if p.target >= 3]
        rng.shuffle(roomy)
        pairs = _share(self.args.merge_pairs, self.args.customers, len(plans), rng)
        anonymised = _share(self.args.anonymise, self.args.customers, len(plans), rng)
        for _ in range(pairs):
            if len(roomy) < 2:
                break
            dup, survivor = roomy.pop(), roomy.pop()
            dup.final, survivor.final = "merge_duplicate", "merge_survivor"
            dup.partner, survivor.partner = survivor.index, dup.index
            survivor.no_archive = True
        for _ in range(anonymised):
            if not roomy:
                break
            roomy.pop().final = "anonymise"
        for plan in plans:
            budget = plan.target - 1 - (1 if plan.final else 0)
            # Round 0: the create, sometimes with the first contact (an import does that).
            first = min(budget, rng.choice((0, 0, 1, 2)))
            rest = budget - first
            appends = 0 if rest == 0 else max(1, min(self.args.rounds - 1, round(rest / 3)))
            sizes = _split(rest, appends, rng)
            plan.rounds = [first, *sizes]
        return plans

    # -- names and content ----------------------------------------------------------------

    def unique_name(self, country: vocab.Country, kind: str) -> tuple[str, str | None]:
        rng = self.rng
        for attempt in range(200):
            first = None
            if kind == "person":
                name, first, _ = vocab.person_name(rng, country)
                if attempt > 3:
                    name = f"{name} ({rng.choice(country.cities).name})"
            else:
                name = vocab.company_name(rng, country)
                if attempt > 10:
                    name = f"{name} {rng.choice(country.cities).name}"
                if attempt > 40:
                    name = f"{name} {rng.randint(2, 999)}"
            key = name_key(name)
            if key not in self.names:
                self.names.add(key)
                return name, first
        raise RuntimeError("could not find a unique name in 200 tries")

    def new_customer(self, plan: Plan) -> NewCustomer:
        rng = self.rng
        country = vocab.pick_country(rng)
        plan.country = country
        kind = "person" if rng.random() < 0.3 else "company"
        name, first = self.unique_name(country, kind)
        city = rng.choice(country.cities)
        if kind == "company":
            plan.domain = f"{vocab.slug(name)[:40].strip('-')}.example"
            email = (
                f"{rng.choice(('contact', 'info', 'bonjour', 'kontakt', 'office'))}@{plan.domain}"
            )
        else:
            plan.domain = rng.choice(
                ("mail.example", "post.example", "netz.example", "web.example")
            )
            email = f"{vocab.slug(name, '.')}{rng.randint(1, 99)}@{plan.domain}"
        labels = tuple(dict.fromkeys(self.some_labels(rng.choice((0, 0, 1, 1, 2)))))
        custom: dict[str, Any] = {}
        if kind == "company" and rng.random() < 0.6:
            custom[{"FR": "siret", "DE": "ust_idnr", "GB": "vat_no"}[country.code]] = (
                country.code
                + "".join(rng.choices("0123456789", k=9 if country.code != "FR" else 14))
            )
        if rng.random() < 0.2:
            custom["source"] = rng.choice(("salon", "site web", "Empfehlung", "cold call"))
        self.name_words.update(set(terms.words(name)))
        self.regions[city.region] += 1
        return NewCustomer.model_construct(
            kind=kind,
            name=name,
            internal_name=rng.choice((None, None, None, f"{name.split()[0]} {city.name}")),
            region=city.region,
            language=country.language,
            segment=rng.choices(vocab.SEGMENTS, vocab.SEGMENT_WEIGHTS)[0],
            roles=(rng.choices(("customer", "prospect"), (7, 3))[0],),
            labels=labels,
            email=email if rng.random() < 0.9 else None,
            phone=vocab.phone_number(rng, country) if rng.random() < 0.85 else None,
            price_list=rng.choice((None, *country.price_lists)),
            discount_percent=rng.choice((None, None, Decimal("5.00"), Decimal("12.50"))),
            tax_override=None,
            note=rng.choice((None, None, None, *vocab.NOTES)),
            show_note_on_selection=rng.random() < 0.1,
            custom_fields=custom,
            main_location=Address.model_construct(
                label=None,
                street=vocab.street(rng, country),
                postal_code=city.postal_code,
                city=city.name,
                country=country.code,
                geo=self.geo(city) if rng.random() < 0.5 else None,
            ),
        )

    def some_labels(self, count: int) -> list[str]:
        return self.rng.choices(vocab.LABELS, vocab.LABEL_WEIGHTS, k=count)

    def geo(self, city: vocab.City) -> GeoPoint:
        jitter = self.rng.uniform
        return GeoPoint(
            latitude=round(city.latitude + jitter(-0.05, 0.05), 5),
            longitude=round(city.longitude + jitter(-0.05, 0.05), 5),
        )

    def contact(self, plan: Plan) -> NewContact:
        rng = self.rng
        assert plan.country is not None
        name, first, last = vocab.person_name(rng, plan.country)
        email = f"{vocab.slug(first, '.')}.{vocab.slug(last, '.')}@{plan.domain}"
        has_email, has_phone = rng.random() < 0.8, rng.random() < 0.7
        return NewContact.model_construct(
            name=name,
            email=email if has_email else None,
            phone=vocab.phone_number(rng, plan.country) if has_phone else None,
            position=rng.choice((None, *plan.country.positions)),
            main=False,
            notify=NotifyChannels(
                email=has_email and rng.random() < 0.5, sms=has_phone and rng.random() < 0.3
            ),
            equipment_alerts=rng.random() < 0.2,
        )

    # -- one command against the aggregate --------------------------------------------------

    def act(self, plan: Plan, room: int) -> None:
        """Let the customer decide one realistic command that records at most `room` events."""
        customer = plan.customer
        assert customer is not None and plan.country is not None
        rng = self.rng
        country = plan.country
        choice = rng.choices(_ACTIONS, _ACTION_WEIGHTS)[0]
        if choice == "details":
            self.change_details(plan)
        elif choice == "label_add":
            customer.add_label(self.some_labels(1)[0])
        elif choice == "label_remove" and customer.labels:
            customer.remove_label(rng.choice(sorted(customer.labels)))
        elif choice == "contact_add" and (customer.main_contact_id is not None or room >= 2):
            customer.add_contact(uuid.uuid4(), self.contact(plan))
        elif choice == "contact_change" and customer.contacts:
            contact_id = rng.choice(list(customer.contacts))
            current = customer.contacts[contact_id]
            what = rng.choice(("phone", "position", "email", "notify"))
            if what == "phone":
                patch = ContactPatch.model_construct(
                    _fields_set={"phone"}, phone=vocab.phone_number(rng, country)
                )
            elif what == "position":
                patch = ContactPatch.model_construct(
                    _fields_set={"position"}, position=rng.choice(country.positions)
                )
            elif what == "email":
                local = vocab.slug(current.name or "contact", ".")
                patch = ContactPatch.model_construct(
                    _fields_set={"email"}, email=f"{local}{rng.randint(1, 9)}@{plan.domain}"
                )
            else:
                notify = NotifyChannels(
                    email=current.email is not None and rng.random() < 0.6,
                    sms=current.phone is not None and rng.random() < 0.4,
                )
                patch = ContactPatch.model_construct(_fields_set={"notify"}, notify=notify)
            customer.change_contact(contact_id, patch)
        elif choice == "contact_main" and len(customer.contacts) >= 2:
            others = [c for c in customer.contacts if c != customer.main_contact_id]
            patch = ContactPatch.model_construct(_fields_set={"main"}, main=True)
            customer.change_contact(rng.choice(others), patch)
        elif choice == "location_add":
            city = rng.choice(country.cities)
            customer.add_location(
                uuid.uuid4(),
                NewLocation.model_construct(
                    label=rng.choice(country.location_labels),
                    street=vocab.street(rng, country),
                    postal_code=city.postal_code,
                    city=city.name,
                    country=country.code,
                    geo=self.geo(city) if rng.random() < 0.5 else None,
                    main=False,
                ),
            )
        elif choice == "relation_add" and len(self.ids) > 1:
            other = rng.choice(self.ids)
            if other != customer.id:
                relation = rng.choices(("related", "parent", "child"), (6, 2, 2))[0]
                customer.add_relation(
                    NewRelation.model_construct(other_customer_id=other, relation=relation)
                )
        elif choice == "archive" and not plan.no_archive and customer.status == "active":
            customer.archive(rng.choice(vocab.CANCEL_REASONS))
        elif choice == "reactivate" and customer.status == "archived":
            customer.reactivate()
        elif choice == "role":
            if "prospect" in customer.roles:
                customer.convert_to_customer()
            elif "supplier" not in customer.roles:
                customer.add_role("supplier")
        elif choice == "employee":
            customer.assign_employee(f"emp-{rng.randint(1, 250):04d}")

    def change_details(self, plan: Plan) -> None:
        customer, rng, country = plan.customer, self.rng, plan.country
        assert customer is not None and country is not None
        what = rng.choices(
            (
                "phone",
                "email",
                "note",
                "region",
                "segment",
                "terms",
                "internal_name",
                "rename",
                "custom_fields",
            ),
            (20, 14, 14, 8, 10, 12, 10, 5, 7),
        )[0]
        values: dict[str, Any]
        if what == "phone":
            values = {"phone": vocab.phone_number(rng, country)}
        elif what == "email":
            local = rng.choice(("compta", "service", "info", "rechnung", "accounts"))
            values = {"email": f"{local}@{plan.domain}"}
        elif what == "note":
            values = {
                "note": rng.choice((None, *vocab.NOTES)),
                "show_note_on_selection": rng.random() < 0.2,
            }
        elif what == "region":
            city = rng.choice(country.cities)
            values = {"region": city.region}
        elif what == "segment":
            values = {"segment": rng.choices(vocab.SEGMENTS, vocab.SEGMENT_WEIGHTS)[0]}
        elif what == "terms":
            values = {
                "price_list": rng.choice(country.price_lists),
                "discount_percent": Decimal(rng.choice(("0.00", "3.00", "5.00", "10.00", "15.00"))),
            }
        elif what == "internal_name":
            first_word = (customer.name or "X").split()[0]
            values = {"internal_name": f"{first_word} {rng.choice(country.cities).name}"}
        elif what == "rename":
            if customer.status != "active":
                return
            name, _ = self.unique_name(country, customer.kind)
            values = {"name": name}
        else:
            values = {
                "custom_fields": {
                    **customer.custom_fields,
                    "payment_terms": rng.choice(("30j", "45 Tage", "60 days")),
                }
            }
        customer.change_details(CustomerPatch.model_construct(_fields_set=set(values), **values))

    # -- writing ------------------------------------------------------------------------

    def context(self) -> CommandContext:
        return CommandContext(actor=self.rng.choice(vocab.STAFF), correlation_id=str(uuid.uuid4()))

    async def save(self, plan: Plan, ctx: CommandContext, *, held_before: str | None) -> None:
        """Append what the customer recorded, as CustomerRepository.save does, plus the
        name reservation bookkeeping that the handlers do around it (with --bookkeeping)."""
        customer = plan.customer
        assert customer is not None
        if not customer.pending:
            return
        events = list(customer.pending)
        customer.pending.clear()
        expected = customer.version - len(events)
        held_after = customer.name_key if customer.holds_name else None
        renamed = self.args.bookkeeping and held_after != held_before
        secret = await self.keys.create_key(RESERVATION_SECRET_SUBJECT) if renamed else b""
        if renamed and held_after is not None:
            await self.bookkeep(
                reservation_stream(held_after, secret),
                CustomerNameReserved(customer_id=customer.id),
                ctx,
            )
        await self.append(customer_stream(customer.id), events, ctx, expected, customer.id)
        if renamed and held_before is not None:
            await self.bookkeep(
                reservation_stream(held_before, secret),
                CustomerNameReleased(customer_id=customer.id),
                ctx,
            )
        plan.written += len(events)

    async def append(
        self,
        stream: str,
        events: list[Any],
        ctx: CommandContext,
        expected: int,
        subject: UUID | None,
    ) -> AppendResult:
        result = await self.writer.append(
            stream, events, ctx, expected_version=expected, key_subject=subject
        )
        self.totals.appends += 1
        self.totals.events += len(events)
        self.totals.by_type.update(type(e).__name__ for e in events)
        return result

    async def bookkeep(self, stream: str, event: DomainEvent, ctx: CommandContext) -> None:
        plain = CommandContext(actor=ctx.actor, correlation_id=ctx.correlation_id)
        version = (
            self.name_versions.get(stream, 0) if stream != RANGE_STREAM else self.range_version
        )
        await self.writer.append(stream, [event], plain, expected_version=version)
        if stream == RANGE_STREAM:
            self.range_version += 1
        else:
            self.name_versions[stream] = version + 1
        self.totals.bookkeeping_events += 1
        self.totals.by_type[type(event).__name__] += 1

    def held(self, plan: Plan) -> str | None:
        customer = plan.customer
        if customer is None or not customer.holds_name:
            return None
        return customer.name_key

    # -- the rounds -----------------------------------------------------------------------

    def decide_round(self, plan: Plan, round_no: int) -> None:
        """Create the customer (round 0) and/or let it decide commands worth the round's events."""
        room = plan.rounds[round_no]
        if round_no == 0:
            new = self.new_customer(plan)
            number = f"C{self.number}"
            self.number += 1
            plan.customer = Customer.create(
                plan.customer_id,
                new,
                customer_number=number,
                main_location_id=uuid.uuid5(plan.customer_id, "main-location"),
            )
            self.ids.append(plan.customer_id)
            self.labels.update(new.labels)
        customer = plan.customer
        assert customer is not None
        start = len(customer.pending)  # the create (round 0) is not part of the round's room
        tries = 0
        while (recorded := len(customer.pending) - start) < room and tries < room * 20:
            tries += 1
            try:
                self.act(plan, room - recorded)
            except domain_errors.DomainError as refused:
                self.totals.refused[type(refused).__name__] += 1
        # A command recording two events may overshoot by one; the plan's total absorbs it.

    async def run_round(self, plan: Plan, round_no: int) -> None:
        held = None if round_no == 0 else self.held(plan)
        self.decide_round(plan, round_no)
        await self.save(plan, self.context(), held_before=held)

    async def run_final(self, plan: Plan, partner: Plan | None) -> None:
        customer = plan.customer
        assert customer is not None
        held = self.held(plan)
        ctx = self.context()
        if plan.final == "merge_duplicate":
            assert partner is not None and partner.customer is not None
            customer.merge_into(partner.customer.id)
            await self.save(plan, ctx, held_before=held)
        elif plan.final == "merge_survivor":
            assert partner is not None and partner.customer is not None
            customer.absorb([partner.customer])
            await self.save(plan, ctx, held_before=held)
        elif plan.final == "anonymise":
            customer.anonymise()
            for subject in (customer.id, *customer.absorbed_ids):
                await self.keys.destroy(subject)
            await self.save(plan, ctx, held_before=held)

    async def run(self) -> None:
        args, rng = self.args, self.rng
        targets = self.targets()
        cohorts = [targets[i : i + args.cohort] for i in range(0, len(targets), args.cohort)]
        gap, rounds = args.gap, args.rounds
        # Step s runs round r of cohort s - r*gap: a customer's appends are `gap` cohorts apart,
        # and every step mixes creates of one cohort with later rounds of earlier ones.
        live: dict[int, list[Plan]] = {}
        last_step = len(cohorts) - 1 + rounds * gap
        for step in range(last_step + 1):
            if step < len(cohorts):
                plans = self.plan_cohort(step, cohorts[step])
                live[step] = plans
                await self.keys.prepare([p.customer_id for p in plans])
                if args.bookkeeping:
                    await self.number_blocks(len(plans))
            work: list[tuple[Plan, int]] = []
            for round_no in range(rounds):
                cohort = step - round_no * gap
                for plan in live.get(cohort, ()):
                    if round_no < len(plan.rounds):
                        work.append((plan, round_no))
            rng.shuffle(work)
            tasks = []
            for n, (plan, round_no) in enumerate(work):
                tasks.append(asyncio.ensure_future(self.run_round(plan, round_no)))
                if n % 64 == 63:
                    await asyncio.sleep(0)  # let the appends decided so far reach the store
            await asyncio.gather(*tasks)
            finishing = step - rounds * gap
            if finishing in live:
                await self.finish_cohort(live.pop(finishing))
            self.progress()
        assert not live

    async def finish_cohort(self, plans: list[Plan]) -> None:
        by_index = {plan.index: plan for plan in plans}
        # Duplicates become redirects first, then survivors absorb them (merge_customers).
        first = [p for p in plans if p.final in ("merge_duplicate", "anonymise")]
        await asyncio.gather(
            *(
                self.run_final(p, by_index.get(-1 if p.partner is None else p.partner))
                for p in first
            )
        )
        then = [p for p in plans if p.final == "merge_survivor"]
        await asyncio.gather(
            *(self.run_final(p, by_index[p.partner]) for p in then if p.partner is not None)
        )
        for plan in plans:
            assert plan.customer is not None
            self.totals.customers += 1
            self.totals.statuses[
                plan.customer.status if plan.customer.merged_into is None else "merged"
            ] += 1
            if len(self.sample) < self.args.sample or self.rng.random() < 0.01:
                self.remember(plan)
        self.keys.forget([plan.customer_id for plan in plans])

    def remember(self, plan: Plan) -> None:
        customer = plan.customer
        assert customer is not None
        entry = {
            "id": str(customer.id),
            "status": "merged" if customer.merged_into else customer.status,
            "name": customer.name,
            "version": customer.version,
            "region": customer.region,
            "labels": sorted(customer.labels),
        }
        if len(self.sample) < self.args.sample:
            self.sample.append(entry)
        else:
            self.sample[self.rng.randrange(len(self.sample))] = entry

    async def number_blocks(self, creates: int) -> None:
        needed = math.ceil((self.number - 10001 + creates) / NUMBER_BLOCK) - self.range_version
        ctx = self.context()
        for _ in range(max(0, needed)):
            first = 10001 + self.range_version * NUMBER_BLOCK
            await self.bookkeep(
                RANGE_STREAM, CustomerNumbersReserved(first=first, count=NUMBER_BLOCK), ctx
            )

    def progress(self, force: bool = False) -> None:
        now = time.perf_counter()
        last_time, last_events = self.last_report
        if not force and now - last_time < self.args.report_every:
            return
        written = self.totals.events + self.totals.bookkeeping_events
        rate = written / max(now - self.began, 1e-9)
        recent = (written - last_events) / max(now - last_time, 1e-9)
        pct = 100 * self.totals.events / self.args.events
        print(
            f"  {now - self.began:7.1f}s {self.totals.events:>10,} events ({pct:5.1f}%)"
            f" {len(self.ids):>8,} customers {self.totals.appends:>9,} appends"
            f"  {rate:8,.0f} ev/s (last {recent:8,.0f})",
            file=sys.stderr,
            flush=True,
        )
        self.last_report = (now, written)


_ACTIONS = (
    "details",
    "label_add",
    "label_remove",
    "contact_add",
    "contact_change",
    "contact_main",
    "location_add",
    "relation_add",
    "archive",
    "reactivate",
    "role",
    "employee",
)
_ACTION_WEIGHTS = (24, 15, 6, 14, 10, 3, 8, 8, 1.5, 3, 3, 2)


def _share(wanted: int, customers: int, cohort_size: int, rng: random.Random) -> int:
    """This cohort's part of `wanted` in all, rounded at random so the totals come out right."""
    exact = wanted * cohort_size / customers
    return int(exact) + (1 if rng.random() < exact - int(exact) else 0)


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    if parts == 0:
        return []
    cuts = (
        sorted(rng.sample(range(1, total), parts - 1)) if total > parts else list(range(1, parts))
    )
    bounds = [0, *cuts, total]
    sizes = [bounds[i + 1] - bounds[i] for i in range(parts)]
    return [max(1, size) for size in sizes]


# --- main ------------------------------------------------------------------------------------


async def open_stores(args: argparse.Namespace, data_dir: Path) -> tuple[EventStore, KeyRing]:
    if args.postgres:
        from customerhub_shared.eventstore.postgres import PostgresEventStore
        from customerhub_shared.keyring.postgres import PostgresKeyRing

        return await PostgresEventStore.open(args.postgres), await PostgresKeyRing.open(
            args.postgres
        )
    store = await SQLiteEventStore.open(data_dir / "events.db")
    return store, SQLiteKeyRing(data_dir / "keys.db")


async def generate(args: argparse.Namespace, data_dir: Path) -> int:
    store, ring = await open_stores(args, data_dir)
    clock = None if args.postgres else WriterClock(store)
    keys = PreparedKeys(ring, batching=args.key_batching)
    try:
        head_before = await store.head_position()
        if head_before is not None and not args.allow_existing:
            print(
                f"error: the event store already holds events (head {head_before}); "
                "use a new --data-dir or --allow-existing",
                file=sys.stderr,
            )
            return 1
        history = History(args, store, keys)
        began = time.perf_counter()
        await history.run()
        seconds = time.perf_counter() - began
        history.progress(force=True)
        head = await store.head_position()
        report(args, history, clock, keys, seconds, head, head_before, data_dir)
        write_manifest(args, history, data_dir, seconds, head)
    finally:
        await keys.close()
        await store.close()
    return 0


def report(
    args: argparse.Namespace,
    history: History,
    clock: WriterClock | None,
    keys: PreparedKeys,
    seconds: float,
    head: int | None,
    head_before: int | None,
    data_dir: Path,
) -> None:
    t = history.totals
    written = t.events + t.bookkeeping_events
    print(f"event store: {'postgres' if args.postgres else data_dir / 'events.db'}")
    print(
        f"generated: {t.customers:,} customers, {t.events:,} customer events"
        + (f" + {t.bookkeeping_events:,} bookkeeping events" if t.bookkeeping_events else "")
        + f" in {t.appends:,} appends ({t.events / max(t.appends, 1):.2f} events/append)"
    )
    print(
        f"time: {seconds:.1f} s, {written / seconds:,.0f} events/s,"
        f" {t.appends / seconds:,.0f} appends/s"
    )
    print(f"final head position: {head}" + (f" (was {head_before})" if head_before else ""))
    if clock is not None and not clock.active:
        print("SQLite writer thread: not measured (the adapter's internals changed)")
    if clock is not None and clock.active:
        busy = clock.busy
        print(
            f"SQLite writer thread busy {busy:.1f} s = {100 * busy / seconds:.0f}% of the wall time"
            f" ({1e6 * busy / max(t.appends, 1):.0f} µs per append,"
            f" {1e6 * busy / max(written, 1):.0f} µs per event)"
        )
    print(
        f"keyring: {keys.created:,} keys created, {keys.destroyed:,} destroyed,"
        f" {keys.seconds:.1f} s"
        f" ({'batched per cohort' if args.key_batching else 'one create_key each'})"
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"process CPU {usage.ru_utime + usage.ru_stime:.1f} s user+sys,"
        f" peak RSS {usage.ru_maxrss / 1024:.0f} MiB"
    )
    print("statuses: " + ", ".join(f"{k} {v:,}" for k, v in t.statuses.most_common()))
    print("event types: " + ", ".join(f"{k} {v:,}" for k, v in t.by_type.most_common()))
    if t.refused:
        print(
            "commands refused by the aggregate (not appended): "
            + ", ".join(f"{k} {v:,}" for k, v in t.refused.most_common())
        )
    if not args.postgres:
        sizes = {
            name: (data_dir / name).stat().st_size
            for name in ("events.db", "keys.db")
            if (data_dir / name).exists()
        }
        wal = data_dir / "events.db-wal"
        extra = f" (+ WAL {wal.stat().st_size / 2**20:.0f} MiB)" if wal.exists() else ""
        print("files: " + ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in sizes.items()) + extra)
    print(machine_line())


def write_manifest(
    args: argparse.Namespace, history: History, data_dir: Path, seconds: float, head: int | None
) -> None:
    t = history.totals
    manifest = {
        "customers": t.customers,
        "customer_events": t.events,
        "bookkeeping_events": t.bookkeeping_events,
        "appends": t.appends,
        "head": head,
        "seconds": round(seconds, 1),
        "seed": args.seed,
        "event_store": "postgres" if args.postgres else "sqlite",
        "statuses": dict(t.statuses),
        "event_types": dict(t.by_type),
        "labels": dict(history.labels.most_common()),
        "regions": dict(history.regions.most_common()),
        "name_words": dict(history.name_words.most_common(300)),
        "sample": history.sample,
    }
    path = data_dir / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"manifest: {path}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000, help="customer events in all")
    parser.add_argument("--data-dir", type=Path, help="default: a new temp dir (printed)")
    parser.add_argument("--postgres", metavar="DSN", help="append to PostgreSQL (events + keys)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cohort", type=int, default=1000, help="customers created per step")
    parser.add_argument("--rounds", type=int, default=4, help="appends per customer at most")
    parser.add_argument("--gap", type=int, default=2, help="steps between a customer's appends")
    parser.add_argument("--merge-pairs", type=int, help="default: customers / 200")
    parser.add_argument("--anonymise", type=int, help="default: customers / 300")
    parser.add_argument(
        "--bookkeeping",
        action="store_true",
        help="also write name reservations and number-range blocks",
    )
    parser.add_argument(
        "--key-batching",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="create a cohort's keys in one keyring transaction (default)",
    )
    parser.add_argument("--sample", type=int, default=2000, help="customers kept in the manifest")
    parser.add_argument("--allow-existing", action="store_true")
    parser.add_argument("--report-every", type=float, default=5.0, help="progress, seconds")
    args = parser.parse_args(argv)
    if args.merge_pairs is None:
        args.merge_pairs = args.customers // 200
    if args.anonymise is None:
        args.anonymise = args.customers // 300
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.data_dir is None:
        args.data_dir = Path(tempfile.mkdtemp(prefix="customerhub-history-"))
    args.data_dir.mkdir(parents=True, exist_ok=True)
    data_dir = args.data_dir.resolve()
    print(f"data dir: {data_dir}")
    print(
        f"target: {args.customers:,} customers, {args.events:,} customer events"
        f" ({args.events / args.customers:.1f} per customer), seed {args.seed}"
    )
    return asyncio.run(generate(args, data_dir))


if __name__ == "__main__":
    raise SystemExit(main())
