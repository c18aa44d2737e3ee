"""Bulk equipment assignment throughput (items/s) against the embedded system, over real HTTP.

Starts `customerhub run` as command_throughput.py does (fresh temp data dir, free port, own
JWT secret), registers unowned items, then for each batch size sends
`POST /v1/customers/{id}/equipment` with that many fresh items, one request after another
(or --clients at a time, one customer each). A request is timed until its answer, which comes
once the ownership reconciler has recorded the items on the customer too; a 202 (it had not
within the server's freshness timeout, raised here to 60 s) is counted and reported apart.

    uv run python bench/equipment_assignment.py [--batches 1 100 1000] [--clients 1]
    uv run python bench/equipment_assignment.py --url http://127.0.0.1:8000 --jwt-secret S

Figures, not a test; client and server share the machine's CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field

import httpx
from _stats import machine_line, percentile
from command_throughput import Server, spawned_server, wait_until_up

from customerhub_shared.http.auth import mint_token

# Requests per batch size unless --requests says otherwise: about 200-5000 items each.
DEFAULT_REQUESTS = {1: 200, 100: 20, 1000: 5}


@dataclass
class Round:
    batch: int
    items: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    example: str = ""


async def register_items(client: httpx.AsyncClient, count: int, run_id: str) -> list[str]:
    """Unowned items to assign, registered 32 at a time (not measured)."""
    gate = asyncio.Semaphore(32)

    async def one(n: int) -> str:
        async with gate:
            body = {"name": f"Bench {run_id} item {n}", "serial_number": f"SN-{run_id}-{n}"}
            response = await client.post("/v1/equipment", json=body)
            response.raise_for_status()
            return str(response.json()["id"])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def new_customer(client: httpx.AsyncClient, name: str) -> str:
    body = {"kind": "company", "name": name, "main_location": {"city": "Lyon", "country": "FR"}}
    response = await client.post("/v1/customers", json=body)
    response.raise_for_status()
    return str(response.json()["id"])


async def assign_batches(
    client: httpx.AsyncClient, customer_id: str, batches: list[list[str]], run: Round
) -> None:
    for batch in batches:
        started = time.perf_counter()
        response = await client.post(
            f"/v1/customers/{customer_id}/equipment", json={"equipment_ids": batch}
        )
        run.latencies.append(time.perf_counter() - started)
        run.statuses[response.status_code] += 1
        if response.status_code == 200:
            run.items += len(batch)
        elif not run.example:
            run.example = response.text[:300]


async def one_round(
    client: httpx.AsyncClient, batch: int, requests: int, clients: int, run_id: str
) -> Round:
    items = await register_items(client, batch * requests, f"{run_id}-{batch}")
    customers = [
        await new_customer(client, f"Bench {run_id} batch {batch} client {n}")
        for n in range(clients)
    ]
    batches = [items[n : n + batch] for n in range(0, len(items), batch)]
    run = Round(batch)
    started = time.perf_counter()
    await asyncio.gather(
        *(
            assign_batches(client, customer, batches[n::clients], run)
            for n, customer in enumerate(customers)
        )
    )
    run.seconds = time.perf_counter() - started
    return run


def report(run: Round, clients: int) -> None:
    latencies = sorted(latency * 1000 for latency in run.latencies)
    marks = ", ".join(
        f"{label} {percentile(latencies, pct):.0f}"
        for label, pct in (("p50", 50), ("p90", 90), ("max", 100))
    )
    statuses = ", ".join(f"{count} x {status}" for status, count in sorted(run.statuses.items()))
    print(
        f"batch {run.batch:>5}: {run.items / run.seconds:8.0f} items/s  "
        f"({run.items} items in {len(run.latencies)} requests, {run.seconds:.1f} s, "
        f"{clients} client(s); {statuses}; latency ms {marks})"
    )
    if run.example:
        print(f"             e.g. {run.example}")


async def bench(server: Server, secret: str, args: argparse.Namespace) -> int:
    waited = await wait_until_up(server, args.startup_timeout)
    print(f"server: answering after {waited:.1f} s")
    token = mint_token(secret, sub="bench", roles=["admin"])
    headers = {"Authorization": f"Bearer {token}"}
    run_id = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120) as client:
        for batch in args.batches:
            requests = args.requests or DEFAULT_REQUESTS.get(batch, 10)
            report(await one_round(client, batch, requests, args.clients, run_id), args.clients)
    print(machine_line())
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--requests", type=int, help="per batch size (default 200, 20, 5)")
    parser.add_argument("--clients", type=int, default=1, help="concurrent clients (1)")
    parser.add_argument("--url", help="bench this running server instead of spawning one")
    parser.add_argument("--jwt-secret", default=os.environ.get("CUSTOMERHUB_JWT_SECRET"))
    parser.add_argument("--launcher", choices=["python", "uv"], default="python")
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    if any(batch < 1 or batch > 1000 for batch in args.batches):
        parser.error("a batch holds 1 to 1000 items (the API's limit)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.url:
        if not args.jwt_secret:
            sys.exit("--url needs --jwt-secret or CUSTOMERHUB_JWT_SECRET to mint an admin token")
        return asyncio.run(bench(Server(args.url.rstrip("/")), args.jwt_secret, args))
    # Answers should time the whole assignment, customers' side included, not a 202.
    os.environ.setdefault("CUSTOMERHUB_FRESHNESS_TIMEOUT_SECONDS", "60")
    secret = secrets.token_urlsafe(32)
    with spawned_server(args.launcher, secret) as server:
        return asyncio.run(bench(server, secret, args))


if __name__ == "__main__":
    raise SystemExit(main())
