"""Creates/s of `POST /v1/customers` with one and with two command processes on one PostgreSQL.

Each case gets a fresh scratch database on the server and N processes of
`uvicorn customerhub.write_side:create_app` on free ports (event store, keys and idempotency
answers all in that database; no ownership reconciler, creates do not need one). --clients
concurrent clients, spread round-robin over the processes, create customers with distinct
names for --seconds after --warmup. --compare-with DIR runs the same cases with another
checkout's code (its src directories first on PYTHONPATH), for a before/after in one sitting.

    uv run python bench/replica_creates.py [--clients 32] [--seconds 10] [--compare-with DIR]

Client, servers and PostgreSQL share the machine's CPUs. Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from _stats import machine_line, percentile
from append_throughput import create_scratch_database, drop_database, postgres_dsn
from command_throughput import (
    ROUTE,
    Server,
    customer_body,
    free_port,
    log_tail,
    stop,
    wait_until_up,
)
from psycopg.conninfo import make_conninfo

from customerhub_shared.http.auth import mint_token

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Outcome:
    creates_per_second: float
    p50_ms: float
    p99_ms: float
    others: str  # statuses other than 201, with their counts

    def __str__(self) -> str:
        return f"p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms, non-201: {self.others}"


def source_path(checkout: Path) -> str:
    """Every src directory of a checkout: shared, the services, the embedded package."""
    dirs = [checkout / "shared" / "src", checkout / "embedded" / "src"]
    dirs += sorted((checkout / "services").glob("*/src"))
    return os.pathsep.join(str(d) for d in dirs)


@contextlib.contextmanager
def command_processes(
    count: int, dsn: str, secret: str, checkout: Path, workdir: Path
) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for index in range(count):
            port = free_port()
            env = {
                **os.environ,
                "PYTHONPATH": source_path(checkout),
                "CUSTOMERHUB_EVENT_STORE": "postgres",
                "CUSTOMERHUB_POSTGRES_DSN": dsn,
                "CUSTOMERHUB_JWT_SECRET": secret,
                "CUSTOMERHUB_DATA_DIR": str(workdir / f"replica-{index}"),
                "CUSTOMERHUB_LOG_LEVEL": "WARNING",
                "CUSTOMERHUB_OWNERSHIP_RECONCILER": "separate",
            }
            log_path = workdir / f"replica-{index}.log"
            command = [
                *(sys.executable, "-m", "uvicorn", "customerhub.write_side:create_app"),
                *("--factory", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
            ]
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            servers.append(Server(f"http://127.0.0.1:{port}", log_path, process))
        yield servers
    finally:
        for server in servers:
            if server.process is not None:
                stop(server.process)


async def create_for(
    client: httpx.AsyncClient, url: str, until: float, counts: collections.Counter[str]
) -> list[float]:
    latencies: list[float] = []
    while time.perf_counter() < until:
        name = f"Replica bench {uuid.uuid4().hex}"
        started = time.perf_counter()
        try:
            response = await client.post(f"{url}{ROUTE}", json=customer_body(name))
            status = str(response.status_code)
        except httpx.HTTPError as error:
            status = type(error).__name__
        latencies.append(time.perf_counter() - started)
        counts[status] += 1
    return latencies


async def drive(servers: list[Server], token: str, args: argparse.Namespace) -> Outcome:
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        warm: collections.Counter[str] = collections.Counter()
        until = time.perf_counter() + args.warmup
        await asyncio.gather(
            *(
                create_for(client, servers[i % len(servers)].url, until, warm)
                for i in range(args.clients)
            )
        )
        counts: collections.Counter[str] = collections.Counter()
        started = time.perf_counter()
        until = started + args.seconds
        latencies = sorted(
            latency
            for batch in await asyncio.gather(
                *(
                    create_for(client, servers[i % len(servers)].url, until, counts)
                    for i in range(args.clients)
                )
            )
            for latency in batch
        )
        elapsed = time.perf_counter() - started
    others = ", ".join(f"{s}: {n}" for s, n in sorted(counts.items()) if s != "201") or "none"
    return Outcome(
        counts["201"] / elapsed,
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        others,
    )


async def run_case(replicas: int, checkout: Path, args: argparse.Namespace) -> Outcome:
    admin = postgres_dsn(provision=True)
    if admin is None:
        raise RuntimeError("no PostgreSQL: set CUSTOMERHUB_POSTGRES_DSN")
    scratch = await create_scratch_database(admin)
    if scratch is None:
        raise RuntimeError("this bench needs a scratch database")
    secret = secrets.token_urlsafe(32)
    token = mint_token(secret, sub="bench", roles=["admin"])
    try:
        with (
            tempfile.TemporaryDirectory(prefix="customerhub-replicas-") as tmp,
            command_processes(
                replicas, make_conninfo(admin, dbname=scratch), secret, checkout, Path(tmp)
            ) as servers,
        ):
            for server in servers:
                try:
                    await wait_until_up(server, args.startup_timeout)
                except RuntimeError:
                    print(log_tail(server.log_path) if server.log_path else "", file=sys.stderr)
                    raise
            return await drive(servers, token, args)
    finally:
        await drop_database(admin, scratch)


async def main_async(args: argparse.Namespace) -> int:
    print(machine_line())
    print(f"POST {ROUTE}: {args.clients} clients, {args.seconds:g} s after {args.warmup:g} s")
    checkouts = [("ours", REPO)]
    if args.compare_with:
        checkouts.append(("theirs", Path(args.compare_with).resolve()))
    rates: dict[tuple[str, int], float] = {}
    for replicas in (1, 2):  # both codes in turns, so a drift of the machine hits both alike
        for name, checkout in checkouts:
            outcome = await run_case(replicas, checkout, args)
            rates[name, replicas] = outcome.creates_per_second
            print(
                f"{name:<7} {replicas} command process(es): "
                f"{outcome.creates_per_second:8.1f} creates/s  ({outcome})",
                flush=True,
            )
    for name, checkout in checkouts:
        ratio = rates[name, 2] / rates[name, 1]
        print(f"{name} ({checkout}): 2 processes = {ratio:.2f}x one process")
    if args.compare_with:
        for replicas in (1, 2):
            ratio = rates["ours", replicas] / rates["theirs", replicas]
            print(f"{replicas} process(es): ours = {ratio:.2f}x theirs")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured, per case (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured lead-in (2)")
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    parser.add_argument("--compare-with", metavar="DIR", help="another checkout to run too")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
