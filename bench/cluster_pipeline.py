"""The local cluster's event pipeline: relay -> Kafka -> projector throughput, and how long a
command's effect takes to become visible in the query service.

Needs the local cluster running (`make cluster`); reads its settings from
.local/cluster/cluster.env.

1. Throughput. The relay is stopped, a backlog of --events customer events (--customers
   customers, realistic content, sealed personal data) is appended straight into the cluster's
   PostgreSQL event store by generate_history.py, then the relay is started again. Sampling
   the relay's checkpoint (PostgreSQL) and the projector's read-model checkpoint
   every 20 ms gives: the relay's rate (log -> Kafka, acknowledged), and the pipeline's rate
   (first relay checkpoint move -> the read model holding the whole backlog).
2. Visibility. --clients clients send --samples commands over HTTP to customer-command (half
   creates, half label changes on customers they created); after each answer the client polls
   GET /v1/customers/{id} on customer-query every --poll-ms until the document shows the
   command's version: true visibility, from the answer's arrival to the first GET showing it.
   A second round asks with `min_position` instead (the query waits server-side) and times
   the answer.

    uv run python bench/cluster_pipeline.py [--events 20000] [--customers 2000]
        [--samples 400] [--clients 4] [--poll-ms 2] [--env-file .local/cluster/cluster.env]

Client, services, PostgreSQL, Kafka and FerretDB all share the machine's CPUs. Figures, not a
test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _stats import machine_line, percentile

from customerhub_shared.checkpoints import CheckpointStore, open_checkpoint_store
from customerhub_shared.eventstore import EventStore
from customerhub_shared.http.auth import mint_token
from customerhub_shared.infrastructure import open_event_store, open_read_store
from customerhub_shared.projection import checkpoint_name
from customerhub_shared.readstore import ReadStore
from customerhub_shared.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CLUSTER = REPO / "scripts" / "cluster.sh"


def read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        sys.exit(f"{path} not found: start the local cluster first (make cluster)")
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def cluster(env_file: Path, *args: str) -> None:
    """scripts/cluster.sh on the cluster whose cluster.env this is."""
    env = {**os.environ, "CUSTOMERHUB_CLUSTER_DIR": str(env_file.parent)}
    done = subprocess.run(
        ["bash", str(CLUSTER), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"cluster.sh {' '.join(args)} failed:\n{done.stderr[-3000:]}")


@dataclass
class Checkpoints:
    """The relay's checkpoint and the customers read model's, read as the services store them."""

    settings: Settings
    relay: CheckpointStore
    read_store: ReadStore
    events: EventStore

    @classmethod
    async def open(cls, env: dict[str, str]) -> Checkpoints:
        os.environ.update(env)
        settings = load_settings()
        return cls(
            settings,
            await open_checkpoint_store(settings),
            await open_read_store(settings),
            await open_event_store(settings),
        )

    async def positions(self) -> tuple[int, int]:
        active, _ = await self.read_store.generations("customers")
        projected = await self.read_store.checkpoint(checkpoint_name("customers", active))
        relayed = await self.relay.get(self.settings.relay_checkpoint_name)
        return relayed or 0, projected or 0

    async def close(self) -> None:
        await self.relay.close()
        await self.read_store.close()
        await self.events.close()


async def throughput(args: argparse.Namespace, env: dict[str, str]) -> None:
    stores = await Checkpoints.open(env)
    try:
        cluster(args.env_file, "stop", "relay")
        head_before = await stores.events.head_position() or 0
        with tempfile.TemporaryDirectory(prefix="customerhub-pipeline-") as tmp:
            generated = subprocess.run(
                [
                    sys.executable,
                    str(REPO / "bench" / "generate_history.py"),
                    "--postgres",
                    env["CUSTOMERHUB_POSTGRES_DSN"],
                    "--customers",
                    str(args.customers),
                    "--events",
                    str(args.events),
                    "--cohort",
                    str(min(1000, args.customers)),
                    "--seed",
                    str(random.randrange(1, 2**31)),
                    "--allow-existing",
                    "--data-dir",
                    tmp,
                ],
                capture_output=True,
                text=True,
            )
        if generated.returncode != 0:
            sys.exit(f"generate_history.py failed:\n{generated.stderr[-3000:]}")
        head = await stores.events.head_position() or 0
        backlog = await count_customer_events(stores.events, after=head_before)
        relay_from, projected_from = await stores.positions()
        print(
            f"backlog: {backlog:,} customer events (log positions {head_before + 1:,}..{head:,}),"
            f" appended with the relay stopped"
        )

        began = time.monotonic()
        cluster(args.env_file, "start")  # only the relay was stopped: it starts again
        relay_moved = relay_done = projected_done = None
        while projected_done is None:
            relay_at, projected_at = await stores.positions()
            now = time.monotonic()
            if relay_moved is None and relay_at > relay_from:
                relay_moved = now
            if relay_done is None and relay_at >= head:
                relay_done = now
            if projected_at >= head:
                projected_done = now
            if now - began > args.timeout:
                sys.exit(
                    f"the pipeline did not drain in {args.timeout:g}s (projected {projected_at})"
                )
            await asyncio.sleep(0.02)
        assert relay_moved is not None and relay_done is not None
        relay_s, pipeline_s = relay_done - relay_moved, projected_done - relay_moved
        print(f"relay start -> first checkpoint move: {relay_moved - began:.2f} s (process start)")
        print(
            f"relay (log -> Kafka, acknowledged): {backlog / relay_s:,.0f} events/s"
            f" ({relay_s:.2f} s)"
        )
        print(
            f"pipeline (log -> Kafka -> read model): {backlog / pipeline_s:,.0f} events/s"
            f" ({pipeline_s:.2f} s; the projector finished {projected_done - relay_done:.2f} s"
            " after the relay)"
        )
    finally:
        await stores.close()


async def count_customer_events(events: EventStore, *, after: int) -> int:
    count, position = 0, after
    while batch := await events.read_all(after=position, limit=5000):
        count += sum(1 for event in batch if event.stream.startswith("customer-"))
        position = batch[-1].position
    return count


@dataclass
class Visibility:
    latencies: list[float] = field(default_factory=list)
    commands: list[float] = field(default_factory=list)
    polls: int = 0
    stale: int = 0  # min_position answered 200 with the document not yet at the version
    poll: float = 0.002


async def visibility(
    args: argparse.Namespace, env: dict[str, str], *, min_position: bool
) -> Visibility:
    token = mint_token(env["CUSTOMERHUB_JWT_SECRET"], sub="bench", roles=["admin"])
    headers = {"Authorization": f"Bearer {token}"}
    result = Visibility(poll=args.poll_ms / 1000)
    run = uuid.uuid4().hex[:8]
    per_client = args.samples // args.clients

    async def client(number: int, http: httpx.AsyncClient) -> None:
        mine: list[str] = []
        for n in range(per_client):
            sent = time.monotonic()
            if n % 2 == 0 or not mine:
                body = {"name": f"Pipeline {run} {number} {n}", "main_location": {"city": "Caen"}}
                answer = await http.post(f"{env['COMMAND_URL']}/v1/customers", json=body)
            else:
                customer_id = random.choice(mine)
                url = f"{env['COMMAND_URL']}/v1/customers/{customer_id}/labels/l{n}"
                answer = await http.put(url)
            answered = time.monotonic()
            if answer.status_code not in (200, 201):
                sys.exit(f"command failed: {answer.status_code} {answer.text[:300]}")
            command = answer.json()
            mine.append(command["id"])
            result.commands.append(answered - sent)
            result.latencies.append(
                await until_visible(http, env, command, result, min_position=min_position)
            )

    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        await asyncio.gather(*(client(number, http) for number in range(args.clients)))
    return result


async def until_visible(
    http: httpx.AsyncClient,
    env: dict[str, str],
    command: dict[str, Any],
    result: Visibility,
    *,
    min_position: bool,
) -> float:
    answered = time.monotonic()
    url = f"{env['QUERY_URL']}/v1/customers/{command['id']}"
    params = {"min_position": command["position"]} if min_position else {}
    while True:
        answer = await http.get(url, params=params)
        result.polls += 1
        if answer.status_code == 200 and answer.json()["version"] >= command["version"]:
            return time.monotonic() - answered
        if answer.status_code not in (200, 404, 503):
            sys.exit(f"query failed: {answer.status_code} {answer.text[:300]}")
        if min_position and answer.status_code == 200:
            result.stale += 1
        await asyncio.sleep(0 if min_position else result.poll)


def describe(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    ms = [1000 * percentile(ordered, p) for p in (50, 90, 99, 100)]
    return (
        f"{name}: n={len(values)} p50 {ms[0]:.1f} ms, p90 {ms[1]:.1f} ms,"
        f" p99 {ms[2]:.1f} ms, max {ms[3]:.1f} ms"
    )


async def main_async(args: argparse.Namespace) -> None:
    env = read_env(args.env_file)
    print(machine_line())
    print(
        f"cluster: command {env['COMMAND_URL']}, query {env['QUERY_URL']},"
        f" read store {env['CUSTOMERHUB_READ_STORE']}"
    )
    if not args.skip_throughput:
        await throughput(args, env)
    polled = await visibility(args, env, min_position=False)
    print(f"visibility ({args.clients} clients, poll every {args.poll_ms:g} ms):")
    print("  " + describe("command answer", polled.commands))
    print("  " + describe("answer -> visible in GET /v1/customers/{id}", polled.latencies))
    print(f"  ({polled.polls / len(polled.latencies):.1f} GETs per command)")
    waited = await visibility(args, env, min_position=True)
    print("  " + describe("answer -> GET with min_position answered", waited.latencies))
    print(f"  (min_position answers older than the command: {waited.stale})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="backlog: customer events")
    parser.add_argument("--customers", type=int, default=2_000, help="backlog: customers")
    parser.add_argument("--samples", type=int, default=400, help="commands timed for visibility")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--poll-ms", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to drain")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--env-file", type=Path, default=REPO / ".local" / "cluster" / "cluster.env"
    )
    asyncio.run(main_async(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
