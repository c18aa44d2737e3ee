"""Rows/s of a customer import (CSV) in the embedded mode, through the API's command handlers.

Generates a CSV of realistic French, German and English customers (external id, company name,
email, phone, address, main contact), then imports it into a fresh data directory the way
`customerhub import FILE` does: every row validated, matched, checked for likely duplicates
against the read model and the rows before it, and created through the same handlers as
`POST /v1/customers` (name reservation, number range, the customer's key, its events; the
customers projector follows along). Then imports the same file again (every row unchanged).

    uv run python bench/import_throughput.py                  # 100,000 rows, the issue's figure
    uv run python bench/import_throughput.py --rows 10000     # a quicker look
    uv run python bench/import_throughput.py --create-duplicates  # without the duplicate scoring

Beside the figure it prints anchor (a) of the anchors' bench_eventsourcing.py, measured right
after: eventsourcing's own new aggregates per second (one event, one fsync'd save each), and
the ratio of imported rows to those saves (--no-anchor skips it). Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import resource
import tempfile
import time
from pathlib import Path

from _anchors import eventsourcing_threaded_writes, missing_anchor_note
from _stats import machine_line
from _vocabulary import company_name, person_name, phone_number, pick_country, slug, street

from customer_command.application.imports.ports import ImportOptions
from customerhub.import_command import import_file
from customerhub_shared.settings import Settings

HEADER = (
    "external_id", "name", "email", "phone", "street", "postal_code", "city", "country",
    "language", "contact_name", "contact_email",
)  # fmt: skip


def customer_list(rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(HEADER)
    for n in range(rows):
        country = pick_country(rng)
        city = rng.choice(country.cities)
        company = f"{company_name(rng, country)} {n}"
        first, last, _ = person_name(rng, country)
        domain = f"{slug(company)[:30].strip('-')}.example"
        writer.writerow(
            (
                f"erp-{n:07d}",
                company,
                f"contact@{domain}",
                phone_number(rng, country),
                street(rng, country),
                city.postal_code,
                city.name,
                country.code,
                country.language,
                f"{first} {last}",
                f"{slug(first)}@{domain}",
            )  # fmt: skip
        )
    return buffer.getvalue().encode()


async def timed_import(
    settings: Settings, content: bytes, label: str, options: ImportOptions
) -> float:
    """Rows/s of one import of `content`, printed with its outcome counts."""
    started = time.perf_counter()
    record, _ = await import_file(settings, content, "bench.csv", options, actor="bench")
    elapsed = time.perf_counter() - started
    counts = ", ".join(f"{name} {count}" for name, count in record.counts.items() if count)
    rows = sum(record.counts.values())
    print(f"{label}: {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s ({counts})")
    return rows / elapsed


def print_anchor(rate: float) -> None:
    # Anchor (a): new aggregates of one event per save(), one thread.
    anchor = eventsourcing_threaded_writes(10.0, 1)
    if anchor is None:
        print(missing_anchor_note())
        return
    saves = anchor["events_per_s"]
    print(
        f"anchor eventsourcing (a) new aggregate, 1 event/save: {saves:,.0f} saves/s"
        f" (p50 {anchor['p50_ms']:.2f} ms), measured right after"
    )
    print(f"import {rate:,.0f} rows/s | anchor {saves:,.0f} saves/s | ratio {rate / saves:.3f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--create-duplicates",
        action="store_true",
        help="skip the duplicate scoring (rows are created even when they look alike)",
    )
    parser.add_argument("--once", action="store_true", help="skip the second, unchanged import")
    parser.add_argument("--no-anchor", action="store_true")
    args = parser.parse_args()
    options = ImportOptions(create_duplicates=args.create_duplicates)
    content = customer_list(args.rows, args.seed)
    print(machine_line())
    print(f"CSV: {args.rows:,} rows, {len(content) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory(prefix="customerhub-import-bench-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), log_level="WARNING", jwt_secret="bench-" * 8)
        rate = await timed_import(settings, content, "first import (creates)", options)
        if not args.once:
            await timed_import(settings, content, "same file again (unchanged)", options)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    if not args.no_anchor:
        print_anchor(rate)


if __name__ == "__main__":
    asyncio.run(main())
