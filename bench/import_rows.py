"""Rows/s of a customer import (CSV) in the embedded mode, through the API's command handlers.

Generates a CSV of realistic French, German and English customers (external id, company name,
email, phone, address, main contact), then imports it into a fresh data directory the way
`customerhub import FILE` does: every row validated, matched, checked for likely duplicates
against the read model, and created through the same handlers as `POST /v1/customers`.
Then imports the same file again (every row unchanged).

    uv run python bench/import_rows.py               # 2,000 rows
    uv run python bench/import_rows.py --rows 100000 # the issue's figure (takes a while)
    uv run python bench/import_rows.py --create-duplicates  # without the duplicate scoring

Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import tempfile
import time
from pathlib import Path

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
    started = time.perf_counter()
    record, _ = await import_file(settings, content, "bench.csv", options, actor="bench")
    elapsed = time.perf_counter() - started
    counts = ", ".join(f"{name} {count}" for name, count in record.counts.items() if count)
    rows = sum(record.counts.values())
    print(f"{label}: {rows} rows in {elapsed:.1f} s = {rows / elapsed:.0f} rows/s ({counts})")
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--create-duplicates",
        action="store_true",
        help="skip the duplicate scoring (rows are created even when they look alike)",
    )
    args = parser.parse_args()
    options = ImportOptions(create_duplicates=args.create_duplicates)
    content = customer_list(args.rows, args.seed)
    print(machine_line())
    print(f"CSV: {args.rows} rows, {len(content) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory(prefix="customerhub-import-bench-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), log_level="WARNING", jwt_secret="bench")
        await timed_import(settings, content, "first import (creates)", options)
        await timed_import(settings, content, "same file again (unchanged)", options)


if __name__ == "__main__":
    asyncio.run(main())
