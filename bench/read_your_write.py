"""Read-your-write latency of the embedded system: a command's answer to the customer being
visible in the read model (`GET /v1/customers/{id}?min_position=P`), over real HTTP.

Starts `customerhub run` like command_throughput.py (fresh data dir, free port, own secret).
Each of --clients clients loops: create a customer, then read it back with the `position` the
create answered. "Visible" is the read's latency: it returns once the projector applied the
event. The anchor is the same read of a customer that is already visible (no waiting), taken
in the same run; the goal is a visible-p99 under --goal-ms (50).

    uv run python bench/read_your_write.py [--clients 4] [--seconds 20] [--warmup 3]
    uv run python bench/read_your_write.py --url http://127.0.0.1:8000 --jwt-secret S
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field

import httpx
from _stats import machine_line, percentile
from command_throughput import Server, customer_body, spawned_server, wait_until_up

from customerhub_shared.http.auth import mint_token

ROUTE = "/v1/customers"


@dataclass
class Samples:
    command: list[float] = field(default_factory=list)
    visible: list[float] = field(default_factory=list)
    plain_read: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def fail(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    began = time.perf_counter()
    response = await request
    return response, time.perf_counter() - began


async def client_loop(
    client: httpx.AsyncClient,
    run_id: str,
    index: int,
    window: tuple[float, float],
    samples: Samples,
) -> None:
    measure_from, until = window
    sequence = 0
    while time.perf_counter() < until:
        sequence += 1
        body = customer_body(f"RYW {run_id} client {index} customer {sequence}")
        created, command_s = await timed(client.post(ROUTE, json=body))
        if created.status_code != 201:
            samples.fail(f"POST {created.status_code}")
            continue
        answer = created.json()
        path = f"{ROUTE}/{answer['id']}"
        seen, visible_s = await timed(client.get(path, params={"min_position": answer["position"]}))
        again, plain_s = await timed(client.get(path))
        if seen.status_code != 200 or again.status_code != 200:
            samples.fail(f"GET {seen.status_code}/{again.status_code}")
            continue
        if time.perf_counter() >= measure_from:
            samples.command.append(command_s)
            samples.visible.append(visible_s)
            samples.plain_read.append(plain_s)


async def drive(url: str, token: str, args: argparse.Namespace) -> Samples:
    samples = Samples()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=args.timeout) as client:
        now = time.perf_counter()
        measure_from, until = now + args.warmup, now + args.warmup + args.seconds
        run_id = uuid.uuid4().hex[:8]
        await asyncio.gather(
            *(
                client_loop(client, run_id, index, (measure_from, until), samples)
                for index in range(args.clients)
            )
        )
    return samples


def figures(values: list[float]) -> str:
    ordered = sorted(value * 1000 for value in values)
    marks = (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
    return ", ".join(f"{label} {percentile(ordered, pct):.1f}" for label, pct in marks)


def report(samples: Samples, args: argparse.Namespace) -> None:
    print(f"clients: {args.clients}, measured {args.seconds:g} s after {args.warmup:g} s warm-up")
    print(f"round trips measured: {len(samples.visible)}; failures: {samples.failures or 'none'}")
    print(f"command (POST) ms:                    {figures(samples.command)}")
    print(f"visible (GET with min_position) ms:   {figures(samples.visible)}")
    print(f"anchor: read of a visible customer ms: {figures(samples.plain_read)}")
    p99 = percentile(sorted(samples.visible), 99) * 1000
    anchor = percentile(sorted(samples.plain_read), 99) * 1000
    verdict = "met" if p99 < args.goal_ms else "NOT met"
    print(
        f"visible p99 {p99:.1f} ms | anchor p99 {anchor:.1f} ms"
        f" | ratio {p99 / max(anchor, 1e-9):.2f} | goal < {args.goal_ms:g} ms: {verdict}"
    )
    print(machine_line())


async def bench(server: Server, secret: str, args: argparse.Namespace) -> int:
    waited = await wait_until_up(server, args.startup_timeout)
    print(f"server: answering after {waited:.1f} s")
    token = mint_token(
        secret,
        sub="bench",
        roles=["admin"],
        issuer=os.environ.get("CUSTOMERHUB_JWT_ISSUER"),
        audience=os.environ.get("CUSTOMERHUB_JWT_AUDIENCE"),
    )
    samples = await drive(server.url, token, args)
    report(samples, args)
    return 0 if samples.visible else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured duration (20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured lead-in (3)")
    parser.add_argument("--goal-ms", type=float, default=50.0, help="visible p99 goal (50)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--url", help="bench this running server instead of spawning one")
    parser.add_argument(
        "--jwt-secret",
        default=os.environ.get("CUSTOMERHUB_JWT_SECRET"),
        help="with --url: the server's HS256 secret (default $CUSTOMERHUB_JWT_SECRET)",
    )
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.url:
        if not args.jwt_secret:
            sys.exit("--url needs --jwt-secret or CUSTOMERHUB_JWT_SECRET to mint an admin token")
        return asyncio.run(bench(Server(args.url.rstrip("/")), args.jwt_secret, args))
    secret = secrets.token_urlsafe(32)
    with spawned_server("python", secret) as server:
        try:
            return asyncio.run(bench(server, secret, args))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    raise SystemExit(main())
