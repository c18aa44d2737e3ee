"""p50/p99 of the console's customers list over a read model of 100k customers.

Fills the customers read model of a fresh data directory straight through the read store
(documents folded by the real CustomerView from generated `CustomerCreated` events, written
as its projector writes them), then serves the embedded app in-process and times the list
page as a signed-in browser asks for it: the console route, its call to `GET /v1/customers`
through the app's own ASGI stack (auth, middleware, the read store's query) and the page's
rendering. Per scenario: one cold request (timed apart: the SQLite read store creates the
index a new sort or filter needs on first use), 5 warm-up requests, then --requests requests
one after the other.

    uv run python bench/console_list.py [--customers 100000] [--requests 200] [--data-dir DIR]

Scenarios: the first page; the next page (its cursor); search as you type (the results
fragment, `partial=1`) for a 1-letter, a 3-letter prefix and a whole surname; a label; a
region; the newest first; the archived filter (no match here). Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _stats import machine_line, percentile
from _vocabulary import LABELS, company_name, person_name, phone_number, pick_country, slug

from customer_query.domain.view import CustomerView
from customerhub.app import create_app
from customerhub_shared.events.base import Envelope, EventMetadata
from customerhub_shared.events.customer import CustomerCreated, LocationSnapshot
from customerhub_shared.http.auth import mint_token
from customerhub_shared.infrastructure import open_read_store
from customerhub_shared.projection import checkpoint_name, collection_name
from customerhub_shared.settings import Settings
from web_console.settings import ConsoleSettings

SECRET = "console-list-bench-secret-0123456789-abcdef"
BATCH = 5_000
NEXT_CURSOR = re.compile(r"cursor=([^\"&]+)\"")


def created(rng: random.Random, position: int, at: datetime) -> Envelope:
    country = pick_country(rng)
    city = rng.choice(country.cities)
    company = rng.random() < 0.7
    name = company_name(rng, country) if company else person_name(rng, country)[0]
    customer_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    event = CustomerCreated(
        customer_id=customer_id,
        kind="company" if company else "person",
        name=name,
        customer_number=f"C{10000 + position}",
        region=city.region,
        language=country.language,
        roles=("customer",) if rng.random() < 0.8 else ("prospect",),
        labels=tuple(rng.sample(LABELS, rng.choice((0, 0, 1, 1, 2)))),
        email=f"{slug(name)}@example.com",
        phone=phone_number(rng, country),
        main_location_id=uuid.uuid4(),
        main_location=LocationSnapshot(
            location_id=uuid.uuid4(),
            city=city.name,
            postal_code=city.postal_code,
            country=country.code,
        ),
    )
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=CustomerCreated.type_name,
        stream=f"customer-{customer_id}",
        revision=0,
        position=position,
        recorded_at=at,
        metadata=EventMetadata(actor="bench", correlation_id=str(position), occurred_at=at),
        event=event,
    )


async def fill(settings: Settings, customers: int, seed: int) -> list[str]:
    """Writes the read model; answers a few surnames to search for."""
    rng = random.Random(seed)
    view = CustomerView()
    store = await open_read_store(settings)
    collection = collection_name(view.name, 1)
    start = datetime.now(UTC) - timedelta(days=365)
    words: list[str] = []
    try:
        for first in range(1, customers + 1, BATCH):
            last = min(first + BATCH, customers + 1)
            documents = []
            for position in range(first, last):
                envelope = created(rng, position, start + timedelta(minutes=position))
                document = view.apply(None, envelope)
                assert document is not None
                # As the projector stamps what it writes: the id, and the next revision.
                document["_id"] = view.document_id(envelope.stream)
                document["_version"] = envelope.revision + 1
                documents.append(document)
            words.append(str(documents[0]["name"]).split()[-1])
            await store.write(
                collection,
                documents,
                checkpoint_name=checkpoint_name(view.name, 1),
                position=last - 1,
            )
    finally:
        await store.close()
    return words


async def timed(client: httpx.AsyncClient, path: str, requests: int) -> tuple[float, list[float]]:
    began = time.perf_counter()
    cold = await client.get(path)
    cold_ms = (time.perf_counter() - began) * 1000
    assert cold.status_code == 200, (path, cold.status_code)
    for _ in range(5):
        await client.get(path)
    latencies = []
    for _ in range(requests):
        began = time.perf_counter()
        answer = await client.get(path)
        latencies.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return cold_ms, sorted(latencies)


def scenarios(first_page: str, words: Sequence[str]) -> list[tuple[str, str]]:
    cursor = NEXT_CURSOR.search(first_page)
    word = words[len(words) // 2]
    found = [
        ("first page", "/console/customers"),
        ("q=1 letter (partial)", "/console/customers?q=b&partial=1"),
        ("q=3 letters (partial)", f"/console/customers?q={word[:3].lower()}&partial=1"),
        ("q=surname (partial)", f"/console/customers?q={word}&partial=1"),
        ("label", f"/console/customers?label={LABELS[0]}"),
        ("region", "/console/customers?region=FR-IDF"),
        ("newest first", "/console/customers?sort=-created_at"),
        ("archived (none)", "/console/customers?status=archived"),
    ]
    if cursor:
        found.insert(1, ("next page", f"/console/customers?cursor={cursor.group(1)}"))
    return found


async def measure(settings: Settings, requests: int, words: Sequence[str]) -> None:
    app = create_app(settings, ConsoleSettings())
    token = mint_token(SECRET, sub="bench", roles=["admin"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://console",
            cookies={"customerhub_session": token},
            timeout=60,
        ) as client:
            first = await client.get("/console/customers")
            assert first.status_code == 200 and "customer" in first.text
            print(f"{'scenario':<24}{'cold ms':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
            for name, path in scenarios(first.text, words):
                cold, latencies = await timed(client, path, requests)
                p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
                print(f"{name:<24}{cold:>10.1f}{p50:>10.1f}{p99:>10.1f}{latencies[-1]:>10.1f}")


async def main(args: argparse.Namespace) -> None:
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="console-list-"))
    settings = Settings(data_dir=data_dir, jwt_secret=SECRET, log_level="ERROR")
    print(machine_line())
    began = time.perf_counter()
    words = await fill(settings, args.customers, args.seed)
    print(f"read model: {args.customers:,} customers written in {time.perf_counter() - began:.1f}s")
    print(f"data dir: {data_dir}; {args.requests} requests per scenario, one at a time")
    await measure(settings, args.requests, words)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
