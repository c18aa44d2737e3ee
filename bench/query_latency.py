"""p50/p99 of the customer query routes over real HTTP, on a generated history.

Serves the embedded app (`customerhub run`) on a history made by generate_history.py (a free
port, its own JWT secret, log level WARNING), waits until the read model has reached the head
of the log (a replay_readmodel.py run builds it; otherwise the server's projector catches up
while this waits), then for each scenario: one cold request (timed apart: the SQLite read
store creates the expression index a new sort or filter needs on first use), a few warm-up
requests, then --requests requests from --clients concurrent clients.

    uv run python bench/query_latency.py --data-dir DIR [--requests 300] [--clients 4]
    uv run python bench/query_latency.py --url http://127.0.0.1:8000 --jwt-secret S --data-dir DIR

Scenarios: list first page; deep pages (keyset cursors gathered by walking the whole list);
`q=` prefixes of 1, 2 and 3 letters, whole words (common and rare) and two words; filters
(label common/rare, region, status=archived); one customer by id; its history; duplicates.
Search words come from the customers sampled in DIR/bench-history.json. The client shares
the machine's CPUs with the server; "srv CPU" is the server process's CPU time per request.
Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _stats import machine_line, percentile
from command_throughput import exit_note, free_port, log_tail, stop

from customerhub_shared.http.auth import mint_token

REPO = Path(__file__).resolve().parent.parent
MANIFEST = "bench-history.json"
ROUTE = "/v1/customers"


@dataclass
class Scenario:
    name: str
    paths: list[str]
    note: str = ""


@dataclass
class Result:
    scenario: Scenario
    cold_ms: float
    latencies: list[float] = field(default_factory=list)
    statuses: collections.Counter[int | str] = field(default_factory=collections.Counter)
    items: list[int] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float | None = None
    load: float = 0.0
    example_error: str = ""


# --- the server -------------------------------------------------------------------------------


def server_env(args: argparse.Namespace, port: int, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CUSTOMERHUB_DATA_DIR=str(args.data_dir),
        CUSTOMERHUB_PORT=str(port),
        CUSTOMERHUB_HOST="127.0.0.1",
        CUSTOMERHUB_JWT_SECRET=secret,
        CUSTOMERHUB_LOG_LEVEL="WARNING",
        CUSTOMERHUB_READ_STORE=args.read_store,
    )
    if args.read_store == "mongodb":
        env.update(MONGODB_URL=args.mongodb_url, CUSTOMERHUB_MONGODB_DATABASE=args.mongodb_database)
    if args.postgres:
        env.update(CUSTOMERHUB_EVENT_STORE="postgres", CUSTOMERHUB_POSTGRES_DSN=args.postgres)
    return env


@contextlib.contextmanager
def served(args: argparse.Namespace, secret: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    log_path = args.data_dir / "query-bench-server.log"
    command = [sys.executable, "-m", "customerhub.cli", "run", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=server_env(args, port, secret),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        print(f"server: pid {process.pid}, {' '.join(command)}, data dir {args.data_dir}")
        try:
            yield f"http://127.0.0.1:{port}", process
        finally:
            stop(process)
            print(f"server: stopped, exit code {process.returncode} {exit_note(process)}")
            if process.returncode not in (0, -15, 143):
                print(log_tail(log_path), file=sys.stderr)


def projections_status(args: argparse.Namespace) -> str:
    """`customerhub projections` for the same data dir: active generation, checkpoint, lag."""
    env = server_env(args, 0, "unused")
    done = subprocess.run(
        [sys.executable, "-m", "customerhub.cli", "projections"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return (done.stdout or done.stderr).strip()


async def wait_until_up(
    client: httpx.AsyncClient, process: subprocess.Popen[bytes] | None, timeout: float
) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/health")).status_code == 200:
                return time.perf_counter() - began
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the server did not answer /health within {timeout:g} s")


async def wait_for_read_model(client: httpx.AsyncClient, head: int, timeout: float) -> int:
    """Poll the read-model position (every answer carries it) until it reaches `head`."""
    began = time.perf_counter()
    last_print = 0.0
    position = 0
    while True:
        response = await client.get(ROUTE, params={"limit": 1})
        position = int(response.headers.get("X-Read-Model-Position", "0") or 0)
        if position >= head:
            return position
        now = time.perf_counter()
        if now - began > timeout:
            raise RuntimeError(f"read model at {position} after {timeout:g} s, head {head}")
        if now - last_print > 10:
            print(f"  read model at {position:,} / {head:,}: waiting for the projector", flush=True)
            last_print = now
        await asyncio.sleep(1.0)


# --- scenarios ----------------------------------------------------------------------------------


def _list(**params: Any) -> str:
    return f"{ROUTE}?{urlencode({'limit': 50, **params})}"


def _repeat(items: Sequence[str], count: int) -> list[str]:
    return [items[i % len(items)] for i in range(count)]


def _prefixes(words: dict[str, int], length: int, count: int = 6) -> list[str]:
    """The `count` most common prefixes of `length` letters among the generated name words."""
    tally: collections.Counter[str] = collections.Counter()
    for word, n in words.items():
        if len(word) >= length and word[:length].isalpha():
            tally[word[:length]] += n
    return [prefix for prefix, _ in tally.most_common(count)]


def sample_words(sample: list[dict[str, Any]]) -> collections.Counter[str]:
    """Words of the sampled customers' names, folded as the read model folds them."""
    from customer_query.domain.terms import words

    tally: collections.Counter[str] = collections.Counter()
    for customer in sample:
        tally.update(set(words(customer.get("name"))))
    return tally


def scenarios(
    manifest: dict[str, Any], cursors: list[str], n: int, rng: random.Random
) -> list[Scenario]:
    sample: list[dict[str, Any]] = manifest["sample"]
    words = sample_words(sample)
    long_words = [w for w, _ in words.most_common() if len(w) >= 5 and w.isalpha()]
    common = long_words[:6]
    # Rare: in about 1 in 1000 sampled names (a hundred or so customers at 100k).
    rare = [w for w in long_words if words[w] <= max(2, len(sample) // 1000)][:6] or long_words[-6:]
    named = [c for c in sample if c.get("name") and c["status"] == "active"]
    two_words = [" ".join(c["name"].split()[:2]) for c in named[:50] if len(c["name"].split()) >= 2]
    # Type-ahead: the first letters of a name's second word, after the whole first word.
    typed = [
        f"{c['name'].split()[0]} {c['name'].split()[1][:2]}"
        for c in named[:50]
        if len(c["name"].split()) >= 2 and len(c["name"].split()[1]) >= 2
    ]
    labels = list(manifest["labels"])
    regions = list(manifest["regions"])
    ids = [c["id"] for c in sample]
    rng.shuffle(ids)
    listed = [
        Scenario("list first page", [_list()] * n, "limit=50, sort=name"),
        Scenario(
            "list deep pages",
            [_list(cursor=rng.choice(cursors)) for _ in range(n)] if cursors else [],
            f"random keyset cursors over {len(cursors)} pages",
        ),
        Scenario("list -updated_at", [_list(sort="-updated_at")] * n, "first page"),
    ]
    searches = [
        Scenario(
            "q 1 letter",
            [_list(q=p) for p in _repeat(_prefixes(words, 1), n)],
            ",".join(_prefixes(words, 1)),
        ),
        Scenario(
            "q 2 letters",
            [_list(q=p) for p in _repeat(_prefixes(words, 2), n)],
            ",".join(_prefixes(words, 2)),
        ),
        Scenario(
            "q 3 letters",
            [_list(q=p) for p in _repeat(_prefixes(words, 3), n)],
            ",".join(_prefixes(words, 3)),
        ),
        Scenario("q common word", [_list(q=w) for w in _repeat(common, n)], ",".join(common)),
        Scenario("q rare word", [_list(q=w) for w in _repeat(rare, n)], ",".join(rare)),
        Scenario("q two words", [_list(q=w) for w in _repeat(two_words, n)], "whole name starts"),
        Scenario("q word + 2 letters", [_list(q=w) for w in _repeat(typed, n)], "type-ahead"),
    ]
    rare_label = labels[-1] if labels else "none"
    filters = [
        Scenario("label common", [_list(label=labels[0])] * n, f"label={labels[0]}"),
        Scenario("label rare", [_list(label=rare_label)] * n, f"label={rare_label}"),
        Scenario(
            "region", [_list(region=r) for r in _repeat(regions[:5], n)], ",".join(regions[:5])
        ),
        Scenario("status=archived", [_list(status="archived")] * n, ""),
        Scenario(
            "label + q 2 letters",
            [_list(label=labels[0], q=p) for p in _repeat(_prefixes(words, 2), n)],
            "",
        ),
    ]
    single = [
        Scenario("GET /{id}", [f"{ROUTE}/{i}" for i in _repeat(ids, n)], "sample ids, any status"),
        Scenario(
            "GET /{id}/history", [f"{ROUTE}/{i}/history" for i in _repeat(ids, n)], "limit 50"
        ),
        Scenario(
            "duplicates?name=",
            [f"{ROUTE}/duplicates?{urlencode({'name': c['name']})}" for c in _repeat(named, n)],
            "by a customer's name",
        ),
    ]
    return [s for s in listed + searches + filters + single if s.paths]


async def gather_cursors(
    client: httpx.AsyncClient, limit: int, max_pages: int
) -> tuple[list[str], float, int]:
    """Walk the whole default list (sort=name) `limit` at a time, keeping each page's cursor."""
    cursors: list[str] = []
    cursor: str | None = None
    began = time.perf_counter()
    listed = 0
    while len(cursors) < max_pages:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(ROUTE, params=params)
        response.raise_for_status()
        body = response.json()
        listed += len(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
        cursors.append(cursor)
    return cursors, time.perf_counter() - began, listed


# --- measuring -----------------------------------------------------------------------------------


def _cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one(client: httpx.AsyncClient, path: str, result: Result | None) -> float:
    began = time.perf_counter()
    try:
        response = await client.get(path)
    except httpx.HTTPError as error:
        if result is not None:
            result.statuses[type(error).__name__] += 1
            result.example_error = result.example_error or str(error)
        return time.perf_counter() - began
    elapsed = time.perf_counter() - began
    if result is not None:
        result.statuses[response.status_code] += 1
        if response.status_code == 200:
            body = response.json()
            items = body.get("items")
            result.items.append(len(items) if isinstance(items, list) else 1)
        elif not result.example_error:
            result.example_error = response.text[:300]
    return elapsed


async def measure(
    client: httpx.AsyncClient, scenario: Scenario, args: argparse.Namespace, server_pid: int | None
) -> Result:
    paths = scenario.paths
    cold = await one(client, paths[0], None)
    for path in paths[1 : 1 + args.warmup]:
        await one(client, path, None)
    result = Result(scenario, cold * 1000)
    queue = iter(paths[: args.requests])
    cpu_before = _cpu_seconds(server_pid)

    async def worker() -> None:
        for path in queue:
            result.latencies.append(await one(client, path, result) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.clients)))
    result.seconds = time.perf_counter() - began
    result.load = os.getloadavg()[0]
    cpu_after = _cpu_seconds(server_pid)
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu = cpu_after - cpu_before
    return result


def print_table(results: list[Result]) -> None:
    header = (
        f"{'scenario':<22}{'n':>5}{'non200':>7}{'cold ms':>9}{'p50 ms':>8}{'p90 ms':>8}"
        f"{'p99 ms':>8}{'max ms':>8}{'req/s':>7}{'srv CPU':>9}{'items':>7}{'load':>6}  note"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        lat = sorted(r.latencies)
        bad = sum(v for k, v in r.statuses.items() if k != 200)
        cpu = f"{1000 * r.server_cpu / max(len(lat), 1):.1f}ms" if r.server_cpu is not None else "-"
        items = f"{sum(r.items) / len(r.items):.1f}" if r.items else "-"
        print(
            f"{r.scenario.name:<22}{len(lat):>5}{bad:>7}{r.cold_ms:>9.1f}"
            + "".join(f"{percentile(lat, pct):>8.1f}" for pct in (50, 90, 99, 100))
            + f"{len(lat) / max(r.seconds, 1e-9):>7.0f}{cpu:>9}{items:>7}{r.load:>6.1f}"
            + f"  {r.scenario.note[:50]}"
        )
    for r in results:
        if r.example_error:
            print(f"  {r.scenario.name}: e.g. {dict(r.statuses)} {r.example_error}")


async def bench(
    url: str, secret: str, args: argparse.Namespace, process: subprocess.Popen[bytes] | None
) -> int:
    manifest = json.loads((args.data_dir / MANIFEST).read_text(encoding="utf-8"))
    token = mint_token(
        secret,
        sub="bench-reader",
        roles=["user"],
        issuer=os.environ.get("CUSTOMERHUB_JWT_ISSUER"),
        audience=os.environ.get("CUSTOMERHUB_JWT_AUDIENCE"),
    )
    limits = httpx.Limits(
        max_connections=args.clients + 1, max_keepalive_connections=args.clients + 1
    )
    async with httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        limits=limits,
        timeout=args.timeout,
    ) as client:
        waited = await wait_until_up(client, process, args.startup_timeout)
        print(f"server: answering after {waited:.1f} s")
        head = manifest["head"]
        began = time.perf_counter()
        position = await wait_for_read_model(client, head, args.catch_up_timeout)
        print(
            f"read model at position {position:,} (head {head:,}),"
            f" waited {time.perf_counter() - began:.1f} s"
        )
        print(
            f"history: {manifest['customers']:,} customers,"
            f" {manifest['customer_events']:,} customer events; statuses {manifest['statuses']}"
        )
        cursors, walk_seconds, listed = await gather_cursors(client, 200, args.max_pages)
        print(
            f"cursor walk (sort=name, limit=200, one client): {len(cursors) + 1} pages,"
            f" {listed:,} customers listed in {walk_seconds:.1f} s"
            f" ({1000 * walk_seconds / (len(cursors) + 1):.1f} ms/page)"
        )
        rng = random.Random(args.seed)
        results = []
        server_pid = process.pid if process is not None else None
        for scenario in scenarios(manifest, cursors, args.requests + args.warmup + 1, rng):
            if args.only and not any(word in scenario.name for word in args.only):
                continue
            result = await measure(client, scenario, args, server_pid)
            results.append(result)
            lat = sorted(result.latencies)
            print(
                f"  {scenario.name:<22} p50 {percentile(lat, 50):7.1f} ms"
                f"  p99 {percentile(lat, 99):7.1f} ms"
                f"  (cold {result.cold_ms:.1f} ms)",
                flush=True,
            )
    print()
    print(
        f"{args.requests} requests per scenario, {args.clients} concurrent clients,"
        f" {args.warmup} warm-up requests after the cold one; latencies in ms"
    )
    print_table(results)
    print(
        '"srv CPU": server process CPU per request; "load": 1-minute load average after the'
        f" scenario (the machine has {os.cpu_count()} CPUs; above that, others were competing)"
    )
    print(machine_line())
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="from generate_history.py")
    parser.add_argument("--requests", type=int, default=300, help="measured per scenario (300)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured, after the cold one")
    parser.add_argument("--max-pages", type=int, default=10_000, help="cursor walk limit")
    parser.add_argument("--only", nargs="*", help="scenarios whose name contains one of these")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument(
        "--catch-up-timeout",
        type=float,
        default=3600.0,
        help="how long to wait for the read model to reach the head",
    )
    parser.add_argument("--read-store", choices=["sqlite", "mongodb"], default="sqlite")
    parser.add_argument(
        "--mongodb-url", default=os.environ.get("MONGODB_URL") or "mongodb://127.0.0.1:27018/"
    )
    parser.add_argument("--mongodb-database", default="customerhub")
    parser.add_argument("--postgres", metavar="DSN", help="the history is in PostgreSQL")
    parser.add_argument("--url", help="bench this running server instead of spawning one")
    parser.add_argument("--jwt-secret", default=os.environ.get("CUSTOMERHUB_JWT_SECRET"))
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.data_dir / MANIFEST).exists():
        sys.exit(f"{args.data_dir / MANIFEST} is missing: run generate_history.py first")
    if args.url:
        if not args.jwt_secret:
            sys.exit("--url needs --jwt-secret or CUSTOMERHUB_JWT_SECRET")
        return asyncio.run(bench(args.url.rstrip("/"), args.jwt_secret, args, None))
    print("projections before serving:")
    print(projections_status(args))
    secret = secrets.token_urlsafe(32)
    with served(args, secret) as (url, process):
        try:
            return asyncio.run(bench(url, secret, args, process))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    raise SystemExit(main())
