"""Commands/s of `POST /v1/customers` against the embedded system, over real HTTP.

By default, beside its anchor: each round starts `customerhub run` (fresh temp data dir, its
own JWT secret, log level WARNING) pinned to CPU 1, loads it with the anchors' wrk script
(`bench_fastapi_bare.sh`, 32 connections, wrk on CPU 0, a unique name and email per request),
stops it, then runs the FastAPI+JWT anchor under the same load and prints ours, the anchor and
the ratio (../shared/anchors, README there; needs wrk and the anchors' venv).

    uv run python bench/command_throughput.py [--rounds 2] [--seconds 15]

With --httpx (or when wrk or the anchors are missing), N concurrent Python clients create
customers with distinct names for --seconds after a warm-up, without an anchor:

    uv run python bench/command_throughput.py --httpx [--clients 32] [--seconds 20] [--warmup 3]
    uv run python bench/command_throughput.py --url http://127.0.0.1:8000 --jwt-secret S

Latencies cover every measured request, whatever its status. Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _anchors import anchors_dir
from _side_by_side import print_round, run_wrk, wrk_available
from _stats import machine_line, percentile

from customerhub_shared.http.auth import mint_token

REPO = Path(__file__).resolve().parent.parent
ROUTE = "/v1/customers"


@dataclass
class Sample:
    status: str
    latency: float
    done: float


@dataclass(frozen=True)
class Server:
    url: str
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    measure_from: float = 0.0
    measure_until: float = 0.0
    last_done: float = 0.0
    examples: dict[str, str] = field(default_factory=dict)


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(launcher: str) -> list[str]:
    if launcher == "uv":
        return ["uv", "run", "customerhub", "run"]
    return [sys.executable, "-m", "customerhub.cli", "run"]


def server_env(data_dir: Path, port: int, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CUSTOMERHUB_DATA_DIR=str(data_dir),
        CUSTOMERHUB_PORT=str(port),
        CUSTOMERHUB_HOST="127.0.0.1",
        CUSTOMERHUB_JWT_SECRET=secret,
        CUSTOMERHUB_LOG_LEVEL="WARNING",
    )
    return env


def stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL to its group if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        print(f"server {process.pid} ignored SIGTERM for {grace:g} s: killing it", file=sys.stderr)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def exit_note(process: subprocess.Popen[bytes]) -> str:
    if process.returncode in (-signal.SIGTERM, 128 + signal.SIGTERM):
        return "(SIGTERM: uvicorn re-raises it once its graceful shutdown is done)"
    return ""


def log_tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def spawned_server(launcher: str, secret: str, *, pinned: bool = False) -> Iterator[Server]:
    """`customerhub run` on a free port in a fresh data dir, stopped on the way out; `pinned`:
    on CPU 1 alone, as the anchor's server is."""
    with tempfile.TemporaryDirectory(prefix="customerhub-bench-") as tmp:
        port = free_port()
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                ["taskset", "-c", "1", *server_command(launcher)]
                if pinned
                else server_command(launcher),
                cwd=REPO,
                env=server_env(Path(tmp) / "data", port, secret),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            print(f"server: pid {process.pid}, {' '.join(server_command(launcher))}, port {port}")
            try:
                yield Server(f"http://127.0.0.1:{port}", log_path, process)
            finally:
                stop(process)
                print(f"server: stopped, exit code {process.returncode} {exit_note(process)}")


async def wait_until_up(server: Server, timeout: float) -> float:
    """Poll GET /docs until it answers 200; the seconds that took."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=server.url, timeout=2.0) as client:
        while time.perf_counter() - started < timeout and not server.exited():
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/docs")).status_code == 200:
                    return time.perf_counter() - started
            await asyncio.sleep(0.2)
    why = "exited" if server.exited() else f"did not answer GET /docs within {timeout:g} s"
    tail = log_tail(server.log_path) if server.log_path else ""
    raise RuntimeError(f"server at {server.url} {why}\n{tail}")


# --- the load ---------------------------------------------------------------------------------


def customer_body(name: str, number: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "company",
        "name": name,
        "internal_name": "Martin Nord",
        "region": "FR-IDF",
        "language": "fr",
        "roles": ["prospect"],
        "labels": ["vip"],
        "email": "contact@martin.example",
        "phone": "+33 1 40 00 00 00",
        "main_location": {
            "street": "12 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
        },
    }
    if number is not None:
        body["customer_number"] = number
    return body


async def post_customer(
    client: httpx.AsyncClient, name: str, number: str | None
) -> tuple[str, str]:
    """The status (or the exception's name) and, unless 201, what came back."""
    try:
        response = await client.post(ROUTE, json=customer_body(name, number))
    except httpx.HTTPError as error:
        return type(error).__name__, str(error)
    status = str(response.status_code)
    return status, "" if status == "201" else response.text


async def client_loop(
    client: httpx.AsyncClient, run_id: str, index: int, run: Run, own_numbers: bool
) -> None:
    sequence = 0
    while time.perf_counter() < run.measure_until:
        sequence += 1
        name = f"Bench {run_id} client {index} customer {sequence}"
        number = f"B{run_id}-{index}-{sequence}" if own_numbers else None
        started = time.perf_counter()
        status, detail = await post_customer(client, name, number)
        done = time.perf_counter()
        if detail:
            run.examples.setdefault(status, detail)
        if started >= run.measure_from:
            run.samples.append(Sample(status, done - started, done))
            run.last_done = max(run.last_done, done)


async def drive(url: str, token: str, args: argparse.Namespace) -> Run:
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    headers = {"Authorization": f"Bearer {token}"}
    run_id = uuid.uuid4().hex[:10]
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=args.timeout
    ) as client:
        now = time.perf_counter()
        run = Run(measure_from=now + args.warmup, measure_until=now + args.warmup + args.seconds)
        loops = [
            client_loop(client, run_id, index, run, args.own_numbers)
            for index in range(args.clients)
        ]
        await asyncio.gather(*loops)
    return run


# --- the report -------------------------------------------------------------------------------


def report(run: Run, args: argparse.Namespace, url: str) -> None:
    window = max(run.last_done, run.measure_until) - run.measure_from
    created = sum(1 for sample in run.samples if sample.status == "201")
    print(
        f"target: POST {url}{ROUTE}, {args.clients} clients, {window:.1f} s measured "
        f"after {args.warmup:g} s warm-up"
    )
    print_statuses(run, created)
    print(
        f"throughput: {created / window:.1f} commands/s (201s), "
        f"{len(run.samples) / window:.1f} requests/s"
    )
    print_latencies(run)
    print(f"commands/s per {args.window:g} s window: {windows(run, args.window)}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"load generator CPU: {usage.ru_utime + usage.ru_stime:.1f} s user+sys "
        "(the server shares the same CPUs)"
    )
    print(machine_line())


def print_statuses(run: Run, created: int) -> None:
    statuses = collections.Counter(sample.status for sample in run.samples)
    failed = len(run.samples) - created
    print(f"requests: {len(run.samples)} total, {created} x 201, {failed} non-201")
    for status, count in sorted(statuses.items()):
        if status != "201":
            print(f"  {status}: {count}, e.g. {run.examples.get(status, '')[:300]}")


def print_latencies(run: Run) -> None:
    latencies = sorted(sample.latency * 1000 for sample in run.samples)
    marks = (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
    figures = ", ".join(f"{label} {percentile(latencies, pct):.1f}" for label, pct in marks)
    print(f"latency ms (all measured requests): {figures}")


def windows(run: Run, width: float) -> str:
    """201s per window of the measured period, to show a trend as the store grows."""
    counts: collections.Counter[int] = collections.Counter(
        int((sample.done - run.measure_from) // width)
        for sample in run.samples
        if sample.status == "201" and sample.done <= run.measure_until
    )
    slots = range(int(max(0.0, run.measure_until - run.measure_from) // width))
    trend = " ".join(f"{counts.get(slot, 0) / width:.0f}" for slot in slots)
    return trend or "(the run is shorter than one window)"


def admin_token(secret: str) -> str:
    return mint_token(
        secret,
        sub="bench",
        roles=["admin"],
        issuer=os.environ.get("CUSTOMERHUB_JWT_ISSUER"),
        audience=os.environ.get("CUSTOMERHUB_JWT_AUDIENCE"),
    )


def side_by_side(anchors: Path, args: argparse.Namespace) -> int:
    """Ours, then the anchor, under the same wrk load, `--rounds` times."""
    body = anchors / "customer_project.json"
    seconds = args.seconds or 15.0
    print(machine_line())
    for number in range(1, args.rounds + 1):
        secret = secrets.token_urlsafe(32)
        with spawned_server(args.launcher, secret, pinned=True) as server:
            asyncio.run(wait_until_up(server, args.startup_timeout))
            assert server.process is not None
            rows = run_wrk(
                anchors,
                url=f"{server.url}{ROUTE}",
                body=body,
                seconds=seconds,
                token=admin_token(secret),
                pid=server.process.pid,
            )
        anchor = run_wrk(anchors, url="", body=body, seconds=seconds)
        if "ext" not in rows:
            print("error: wrk printed no figure for the project", file=sys.stderr)
            return 1
        print_round(number, rows["ext"], anchor)
    return 0


async def bench(server: Server, secret: str, args: argparse.Namespace) -> int:
    waited = await wait_until_up(server, args.startup_timeout)
    print(f"server: answering after {waited:.1f} s")
    token = admin_token(secret)
    run = await drive(server.url, token, args)
    report(run, args, server.url)
    return 0 if run.samples else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument(
        "--seconds", type=float, help="measured duration (15 beside the anchor, 20 with --httpx)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="ours/anchor rounds (2)")
    parser.add_argument(
        "--httpx", action="store_true", help="Python clients as the load, without the anchor"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured lead-in (3)")
    parser.add_argument(
        "--own-numbers",
        action="store_true",
        help="send a customer_number, so the server skips its shared number-range stream",
    )
    parser.add_argument("--window", type=float, default=5.0, help="trend window, seconds (5)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--url", help="bench this running server instead of spawning one")
    parser.add_argument(
        "--jwt-secret",
        default=os.environ.get("CUSTOMERHUB_JWT_SECRET"),
        help="with --url: the server's HS256 secret (default $CUSTOMERHUB_JWT_SECRET)",
    )
    parser.add_argument(
        "--launcher",
        choices=["python", "uv"],
        default="python",
        help="spawn via `sys.executable -m customerhub.cli` (default) or `uv run customerhub`",
    )
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    anchors = anchors_dir()
    if not args.httpx and not args.url and anchors is not None and wrk_available(anchors):
        return side_by_side(anchors, args)
    if not args.httpx and not args.url:
        print("no wrk or no anchors: Python clients as the load, without the anchor")
    args.seconds = args.seconds or 20.0
    if args.url:
        if not args.jwt_secret:
            sys.exit("--url needs --jwt-secret or CUSTOMERHUB_JWT_SECRET to mint an admin token")
        return asyncio.run(bench(Server(args.url.rstrip("/")), args.jwt_secret, args))
    secret = secrets.token_urlsafe(32)
    with spawned_server(args.launcher, secret) as server:
        try:
            return asyncio.run(bench(server, secret, args))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    raise SystemExit(main())
