"""A downstream consumer of customerhub's customer events: each customer's current name and email.

Personal fields travel sealed on Kafka. This consumer reads `customerhub.customer.events` from
the beginning (to the topic's end as of its start, or for ever with --follow), hands each batch
to customerhub's `POST /v1/events/unseal` with a token of the `subscriber` role, and folds the
opened events into one line per customer. An anonymised customer's events come back with
`personal_data_erased: true`: it prints "erased" for them and keeps nothing.

    set -a; . .local/cluster/cluster.env; set +a   # the local cluster's Kafka, topic, secret
    CUSTOMERHUB_API_URL=http://127.0.0.1:8101 \\
    CUSTOMERHUB_TOKEN=$(uv run customerhub token --sub billing-sync --roles subscriber) \\
    uv run python examples/downstream_consumer.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]

UNSEAL_LIMIT = 500  # events per call the API accepts
ANONYMISED = "customerhub.customer.anonymised.v1"


@dataclass
class Customer:
    name: str | None = None
    email: str | None = None
    erased: bool = False

    def apply(self, event: dict[str, Any]) -> None:
        data = event["data"]
        if event["personal_data_erased"] or event["type"] == ANONYMISED:
            self.erased, self.name, self.email = True, None, None
        elif event["type"].endswith((".created.v1", ".details_changed.v1")) and not self.erased:
            self.name = data.get("name") or self.name
            self.email = data.get("email") or self.email

    def line(self, customer_id: str) -> str:
        if self.erased:
            return f"{customer_id}\terased"
        return f"{customer_id}\t{self.name}\t{self.email or '-'}"


class Unsealer:
    def __init__(self, api_url: str, token: str) -> None:
        self._http = httpx.AsyncClient(
            base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    async def open(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        opened: list[dict[str, Any]] = []
        for start in range(0, len(events), UNSEAL_LIMIT):
            opened.extend(await self._open(events[start : start + UNSEAL_LIMIT]))
        return opened

    async def _open(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not chunk:
            return []
        answer = await self._http.post("/v1/events/unseal", json={"events": chunk})
        if answer.status_code == 413 and len(chunk) > 1:  # over the API's body limit: halve
            half = len(chunk) // 2
            return await self._open(chunk[:half]) + await self._open(chunk[half:])
        answer.raise_for_status()
        opened: list[dict[str, Any]] = answer.json()["events"]
        return opened

    async def close(self) -> None:
        await self._http.aclose()


async def consume(args: argparse.Namespace) -> dict[str, Customer]:
    customers: dict[str, Customer] = {}
    unsealer = Unsealer(args.api_url, args.token)
    # No consumer group: every partition, from the beginning, each time it runs.
    consumer = AIOKafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = await _assigned(consumer)
        ends = await consumer.end_offsets(partitions)
        while args.follow or await _behind(consumer, ends):
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            events = [json.loads(r.value) for batch in batches.values() for r in batch]
            for event in await unsealer.open(events):
                customers.setdefault(event["subject"], Customer()).apply(event)
            if args.follow and events:
                _print(customers)
    finally:
        await consumer.stop()
        await unsealer.close()
    return customers


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """True while some partition has messages before the end it had when we started."""
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return True
    return False


async def _assigned(consumer: AIOKafkaConsumer) -> set[TopicPartition]:
    for _ in range(100):
        if partitions := consumer.assignment():
            return set(partitions)
        await asyncio.sleep(0.1)
    raise SystemExit("the topic has no partitions (has the relay run yet?)")


def _print(customers: dict[str, Customer]) -> None:
    for customer_id, customer in sorted(customers.items()):
        sys.stdout.write(customer.line(customer_id) + "\n")
    sys.stdout.flush()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument(
        "--topic",
        default=os.environ.get("CUSTOMERHUB_KAFKA_CUSTOMER_TOPIC", "customerhub.customer.events"),
    )
    parser.add_argument("--api-url", default=os.environ.get("CUSTOMERHUB_API_URL"))
    parser.add_argument("--token", default=os.environ.get("CUSTOMERHUB_TOKEN"))
    parser.add_argument("--follow", action="store_true", help="keep reading new events")
    args = parser.parse_args()
    missing = [name for name in ("bootstrap", "api_url", "token") if not getattr(args, name)]
    if missing:
        parser.error("missing: " + ", ".join(missing))
    return args


def main() -> None:
    args = _arguments()
    customers = asyncio.run(consume(args))
    if not args.follow:
        _print(customers)


if __name__ == "__main__":
    main()
