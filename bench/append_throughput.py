"""Appends/s of the event-store adapters, one event (~300-byte JSON payload) per append.

For each available adapter: 1 writer on its own stream, N writers each on its own stream
(expected_version tracked, so never a conflict), and N writers on ONE stream with optimistic
retry (on ConcurrencyConflict: re-read the stream's version, append again; conflicts counted).

    uv run python bench/append_throughput.py [--seconds 5] [--writers 20] [--postgres]
    uv run python bench/append_throughput.py --postgres --compare-with ../main

The SQLite figures are printed beside their anchors, run in the same sitting from the anchors'
venv (../shared/anchors, README there): raw sqlite3's 1-row-per-transaction rate at
synchronous=FULL (bench_sqlite_limit.py) and eventsourcing's N-thread figure (c). Each of them
and each SQLite case runs in --turns slices, taken in turns (raw, our append in one thread, our
1 writer, our N writers, eventsourcing; again), so that the drift of this shared machine's disk
hits ours and the anchors alike; then the ratios the issue sets goals for, of the sums over the
turns, and the lowest and highest of a single turn. A last row times our one writer and the raw
anchor's statements op by op in turns, in this process. --no-anchors leaves them out.

With --postgres, a second table runs the writers on their own streams in separate OS processes
(1 writer; N writers in one process; N writers split over --processes processes), each layout
on a fresh scratch database; --compare-with DIR runs the same layouts with the PostgreSQL
adapter of another checkout (its shared/src first on PYTHONPATH) and prints ours/theirs.

Adapters: sqlite always (a fresh file in a temp dir); postgres when --postgres is given
(provisioned by scripts/postgres.sh) or CUSTOMERHUB_POSTGRES_DSN is set, in a scratch database
dropped afterwards, with synchronous_commit=on as production runs (--no-durable: the server's
setting; the test server's is off); kurrentdb when KURRENTDB_URL is set (streams named
bench-<random>-…).
Latencies are per successful append, retries included. Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _anchors import (
    available,
    eventsourcing_threaded_writes,
    missing_anchor_note,
    sqlite_append_limit,
)
from _stats import machine_line, percentile

from customerhub_shared.eventstore import ConcurrencyConflict, EventStore, NewEvent
from customerhub_shared.ids import new_event_id, new_uuid

REPO = Path(__file__).resolve().parent.parent
OWN = "own stream"
ONE = "one stream"

Opener = Callable[[int], AbstractAsyncContextManager[EventStore]]


@dataclass(frozen=True)
class Case:
    writers: int
    mode: str


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    conflicts: int = 0


@dataclass(frozen=True)
class Row:
    adapter: str
    case: Case
    appends: int
    seconds: float
    p50_ms: float
    p99_ms: float
    conflicts: int

    @property
    def rate(self) -> float:
        return self.appends / self.seconds if self.seconds else 0.0


# --- events -----------------------------------------------------------------------------------


def make_event(payload_bytes: int) -> NewEvent:
    """A new event with about `payload_bytes` of JSON data, each serialised once, its ids
    drawn as the command service draws them (`customerhub_shared.ids`)."""
    body = _body(str(new_uuid()), pad="x" * _pad_length(payload_bytes))
    metadata = {"actor": "bench", "correlation_id": str(new_uuid())}
    return NewEvent(
        id=new_event_id(),
        type="BenchEventAppended",
        data=json.dumps(body).encode(),
        metadata=json.dumps(metadata).encode(),
    )


def _body(customer_id: str, *, pad: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "name": "Boulangerie Martin",
        "region": "FR-IDF",
        "labels": ["vip", "bench"],
        "pad": pad,
    }


@functools.cache
def _pad_length(payload_bytes: int) -> int:
    """The padding that brings the data to `payload_bytes` (every customer id has 36 chars)."""
    return max(0, payload_bytes - len(json.dumps(_body(str(uuid.UUID(int=0)), pad="")).encode()))


# --- writers ----------------------------------------------------------------------------------


async def own_stream_writer(
    store: EventStore, stream: str, deadline: float, tally: Tally, payload: int
) -> None:
    version = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        result = await store.append(stream, [make_event(payload)], expected_version=version)
        tally.latencies.append(time.perf_counter() - started)
        version = result.version


async def append_with_retry(
    store: EventStore, stream: str, version: int, tally: Tally, payload: int, deadline: float
) -> int | None:
    """The stream's new version, or None when the deadline passed while still conflicting."""
    event = make_event(payload)
    while True:
        try:
            result = await store.append(stream, [event], expected_version=version)
            return result.version
        except ConcurrencyConflict:
            tally.conflicts += 1
            if time.perf_counter() >= deadline:
                return None
            version = await store.stream_version(stream)


async def shared_stream_writer(
    store: EventStore, stream: str, deadline: float, tally: Tally, payload: int
) -> None:
    version = await store.stream_version(stream)
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        new_version = await append_with_retry(store, stream, version, tally, payload, deadline)
        if new_version is None:
            return
        tally.latencies.append(time.perf_counter() - started)
        version = new_version


# --- one case ---------------------------------------------------------------------------------


async def run_case(
    store: EventStore, adapter: str, case: Case, seconds: float, payload: int
) -> Row:
    tallies, elapsed = await run_tallies(store, case, seconds, payload)
    return summarise(adapter, case, tallies, elapsed)


async def run_tallies(
    store: EventStore, case: Case, seconds: float, payload: int
) -> tuple[list[Tally], float]:
    prefix = f"bench-{uuid.uuid4().hex[:12]}"
    tallies = [Tally() for _ in range(case.writers)]
    started = time.perf_counter()
    deadline = started + seconds
    if case.mode == OWN:
        writers = [
            own_stream_writer(store, f"{prefix}-{index}", deadline, tally, payload)
            for index, tally in enumerate(tallies)
        ]
    else:
        writers = [
            shared_stream_writer(store, f"{prefix}-shared", deadline, tally, payload)
            for tally in tallies
        ]
    await asyncio.gather(*writers)
    return tallies, time.perf_counter() - started


def summarise(adapter: str, case: Case, tallies: list[Tally], elapsed: float) -> Row:
    latencies = sorted(latency for tally in tallies for latency in tally.latencies)
    return Row(
        adapter=adapter,
        case=case,
        appends=len(latencies),
        seconds=elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        conflicts=sum(tally.conflicts for tally in tallies),
    )


def inline_append_rate(path: Path, seconds: float, payload: int) -> float:
    """The SQLite adapter's append, run in this thread in its own transactions (no writer
    thread, no event loop): where a lone writer's time goes, beside the raw anchor."""
    from customerhub_shared.eventstore.chain import GENESIS
    from customerhub_shared.eventstore.sqlite import append_in_transaction
    from customerhub_shared.sqlite_files import connect

    db = connect(path, synchronous="FULL")
    appends, version, head = 0, 0, GENESIS  # a new stream; then each append chains on the last
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            db.execute("BEGIN IMMEDIATE")
            event = make_event(payload)
            result, head = append_in_transaction(db, "inline", [event], version, head)
            db.execute("COMMIT")
            version = result.version
            appends += 1
    finally:
        db.close()
    return appends / (time.perf_counter() - started)


async def sqlite_inline_rate(seconds: float, payload: int) -> float:
    from customerhub_shared.eventstore.sqlite import SQLiteEventStore

    with tempfile.TemporaryDirectory(prefix="customerhub-bench-") as tmp:
        path = Path(tmp) / "events.db"
        await (await SQLiteEventStore.open(path)).close()  # its schema
        return await asyncio.to_thread(inline_append_rate, path, seconds, payload)


@dataclass
class Paired:
    """One writer and raw sqlite3 timed op by op, in turns: each sees the same disk."""

    ours_seconds: float = 0.0
    raw_seconds: float = 0.0
    ops: int = 0

    @property
    def ratio(self) -> float:
        return self.raw_seconds / self.ours_seconds if self.ours_seconds else 0.0


async def paired_one_writer(seconds: float, payload: int) -> Paired:
    """Our append through the store, then one transaction of the raw anchor's statements
    (its table, BEGIN, one INSERT of a 300-byte row, COMMIT, WAL, synchronous=FULL) in this
    process, and again, for `seconds`: a ratio the drift of a shared disk moves far less."""
    import sqlite3

    from customerhub_shared.eventstore.sqlite import SQLiteEventStore

    paired, version, blob = Paired(), 0, os.urandom(300)
    with tempfile.TemporaryDirectory(prefix="customerhub-bench-") as tmp:
        raw = sqlite3.connect(Path(tmp) / "raw.sqlite", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, stream TEXT, rev INT, data BLOB)")
        store = await SQLiteEventStore.open(Path(tmp) / "events.db")
        deadline = time.perf_counter() + seconds
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                event = make_event(payload)
                version = (await store.append("paired", [event], expected_version=version)).version
                between = time.perf_counter()
                raw.execute("BEGIN")
                raw.execute(_RAW_INSERT, (uuid.uuid4().hex, 1, blob))
                raw.execute("COMMIT")
                paired.ours_seconds += between - started
                paired.raw_seconds += time.perf_counter() - between
                paired.ops += 1
        finally:
            await store.close()
            raw.close()
    return paired


_RAW_INSERT = "INSERT INTO events (stream, rev, data) VALUES (?, ?, ?)"


# --- adapters ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def sqlite_store(writers: int) -> AsyncIterator[EventStore]:
    from customerhub_shared.eventstore.sqlite import SQLiteEventStore

    with tempfile.TemporaryDirectory(prefix="customerhub-bench-") as tmp:
        store = await SQLiteEventStore.open(Path(tmp) / "events.db")
        try:
            yield store
        finally:
            await store.close()


def postgres_dsn(provision: bool, durable: bool = True) -> str | None:
    """CUSTOMERHUB_POSTGRES_DSN, else (with --postgres) the DSN scripts/postgres.sh prints last;
    `durable` asks for synchronous_commit=on, which the test server turns off."""
    dsn = server_dsn(provision)
    if dsn is None or not durable:
        return dsn
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dsn, options="-c synchronous_commit=on")


def server_dsn(provision: bool) -> str | None:
    dsn = os.environ.get("CUSTOMERHUB_POSTGRES_DSN")
    if dsn or not provision:
        return dsn
    script = REPO / "scripts" / "postgres.sh"
    result = subprocess.run(
        ["bash", str(script), "start"], check=True, stdout=subprocess.PIPE, text=True
    )
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{script} printed no DSN")
    return lines[-1].strip()


async def create_scratch_database(dsn: str) -> str | None:
    """A fresh database on the server, so the bench leaves the real one alone; None if refused."""
    import psycopg
    from psycopg import sql

    name = f"customerhub_bench_{uuid.uuid4().hex[:10]}"
    try:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        print(f"postgres: no scratch database ({error}); appending into the DSN's own database")
        return None
    return name


async def drop_database(dsn: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(statement)


def describe_dsn(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(dsn)
    return f"{parts.get('host', '?')}:{parts.get('port', '5432')}/{parts.get('dbname', '?')}"


def postgres_opener(dsn: str) -> Opener:
    @contextlib.asynccontextmanager
    async def open_store(writers: int) -> AsyncIterator[EventStore]:
        from psycopg.conninfo import make_conninfo

        from customerhub_shared.eventstore.postgres import PostgresEventStore

        scratch = await create_scratch_database(dsn)
        target = make_conninfo(dsn, dbname=scratch) if scratch else dsn
        commits = "synchronous_commit=on" if "synchronous_commit=on" in dsn else "server default"
        print(f"postgres: {describe_dsn(target)} ({commits})")
        store = await PostgresEventStore.open(target, max_connections=max(10, writers))
        try:
            yield store
        finally:
            await store.close()
            if scratch:
                await drop_database(dsn, scratch)

    return open_store


def kurrentdb_opener(uri: str) -> Opener:
    @contextlib.asynccontextmanager
    async def open_store(writers: int) -> AsyncIterator[EventStore]:
        from customerhub_shared.eventstore.kurrentdb import KurrentDBEventStore

        store = await KurrentDBEventStore.open(uri)
        try:
            yield store
        finally:
            await store.close()

    return open_store


def available_adapters(args: argparse.Namespace) -> list[tuple[str, Opener]]:
    adapters: list[tuple[str, Opener]] = [("sqlite", sqlite_store)]
    try:
        dsn = postgres_dsn(args.postgres, args.durable)
    except (subprocess.CalledProcessError, RuntimeError) as error:
        print(f"postgres: skipped, provisioning failed ({error})", file=sys.stderr)
        dsn = None
    if dsn:
        adapters.append(("postgres", postgres_opener(dsn)))
    kurrent = os.environ.get("KURRENTDB_URL")
    if kurrent:
        adapters.append(("kurrentdb", kurrentdb_opener(kurrent)))
    return adapters


# --- writers in separate processes (PostgreSQL) ------------------------------------------------


@dataclass(frozen=True)
class Layout:
    processes: int
    writers: int  # in all

    def __str__(self) -> str:
        return f"{self.writers} writer{'s' if self.writers > 1 else ''} / {self.processes} proc"


async def worker_main(args: argparse.Namespace) -> int:
    """One process of a layout: open the store, say ready, wait for go, write, print a tally."""
    from customerhub_shared.eventstore import postgres

    store = await postgres.PostgresEventStore.open(
        args.worker_dsn, max_connections=max(10, args.writers)
    )
    try:
        if args.warmup > 0:  # fills the connection pool
            await run_case(store, "postgres", Case(args.writers, OWN), args.warmup, args.payload)
        print(json.dumps({"ready": postgres.__file__}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        row = await run_case(store, "postgres", Case(args.writers, OWN), args.seconds, args.payload)
    finally:
        await store.close()
    latencies = {"p50": row.p50_ms, "p99": row.p99_ms}
    print(json.dumps({"appends": row.appends, "seconds": row.seconds, **latencies}), flush=True)
    return 0


async def run_layout(dsn: str, source: Path, layout: Layout, args: argparse.Namespace) -> float:
    """Appends/s of one layout, on a scratch database, with the adapter under `source`."""
    scratch = await create_scratch_database(dsn)
    if scratch is None:
        raise RuntimeError("the process layouts need a scratch database")
    from psycopg.conninfo import make_conninfo

    env = {**os.environ, "PYTHONPATH": str(source / "shared" / "src")}
    per_process = [layout.writers // layout.processes] * layout.processes
    per_process[0] += layout.writers - sum(per_process)
    command = [sys.executable, __file__, "--worker-dsn", make_conninfo(dsn, dbname=scratch)]
    options = [f"--seconds={args.seconds}", f"--payload={args.payload}", f"--warmup={args.warmup}"]
    workers = [
        await asyncio.create_subprocess_exec(
            *command,
            *options,
            "--writers",
            str(count),
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for count in per_process
    ]
    try:
        for worker in workers:  # every store is open (schema made) before anyone writes
            ready = json.loads(await worker_line(worker))
            if not str(ready["ready"]).startswith(str(source)):
                raise RuntimeError(f"worker loaded {ready['ready']}, not the code in {source}")
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            await worker.stdin.drain()
        tallies = [json.loads(await worker_line(worker)) for worker in workers]
    finally:
        for worker in workers:
            await worker.wait()
        await drop_database(dsn, scratch)
    return sum(t["appends"] for t in tallies) / max(t["seconds"] for t in tallies)


async def worker_line(worker: asyncio.subprocess.Process) -> bytes:
    assert worker.stdout is not None
    line = await worker.stdout.readline()
    if not line:
        raise RuntimeError(f"a bench worker exited early (code {await worker.wait()})")
    return line


async def bench_process_layouts(dsn: str, args: argparse.Namespace) -> None:
    layouts = [
        Layout(1, 1),
        Layout(1, args.writers),
        Layout(args.processes, args.writers),
    ]
    sources = [("ours", REPO)]
    if args.compare_with:
        sources.append(("theirs", Path(args.compare_with).resolve()))
    print(
        f"\npostgres, own streams, writers in OS processes ({args.seconds:g} s per run, "
        f"median of {args.rounds} runs taken in turns)"
    )
    print("  ".join(f"{name}: {source}" for name, source in sources))
    print(
        f"{'layout':<24} "
        + " ".join(f"{name + ' appends/s':>17}" for name, _ in sources)
        + (f" {'ours/theirs':>11}" if args.compare_with else "")
    )
    rates: dict[tuple[str, Layout], float] = {}
    for layout in layouts:
        runs: dict[str, list[float]] = {name: [] for name, _ in sources}
        for _ in range(args.rounds):  # in turns, so a drift of the machine hits both alike
            for name, source in sources:
                runs[name].append(await run_layout(dsn, source, layout, args))
        for name, _ in sources:
            rates[name, layout] = statistics.median(runs[name])
        line = f"{layout!s:<24} " + " ".join(f"{rates[name, layout]:>17.0f}" for name, _ in sources)
        if args.compare_with:
            line += f" {rates['ours', layout] / rates['theirs', layout]:>10.2f}x"
        print(line, flush=True)
    for name, _ in sources:
        one = rates[name, layouts[0]]
        many = rates[name, layouts[1]]
        split = rates[name, layouts[2]]
        print(
            f"{name}: {layouts[1]} = {many / one:.2f}x one writer; "
            f"{layouts[2]} = {split / many:.2f}x {layouts[1]}"
        )


# --- driver -----------------------------------------------------------------------------------


async def bench_adapter(name: str, opener: Opener, args: argparse.Namespace) -> list[Row]:
    cases = [Case(1, OWN), Case(args.writers, OWN), Case(args.writers, ONE)]
    rows: list[Row] = []
    async with opener(args.writers) as store:
        for case in cases:
            if args.warmup > 0:
                await run_case(store, name, case, args.warmup, args.payload)
            row = await run_case(store, name, case, args.seconds, args.payload)
            print_row(row)
            rows.append(row)
    return rows


@dataclass
class Turns:
    """The SQLite figures and their anchors measured in turns, a slice of each per turn, so
    that a drift of the machine's disk or CPU hits ours and the anchors alike."""

    raw: list[float] = field(default_factory=list)
    inline: list[float] = field(default_factory=list)
    threaded: list[float] = field(default_factory=list)
    ours: dict[Case, list[Row]] = field(default_factory=dict)
    tallies: dict[Case, list[Tally]] = field(default_factory=dict)
    elapsed: dict[Case, float] = field(default_factory=dict)
    paired: Paired | None = None

    def add(self, case: Case, tallies: list[Tally], elapsed: float) -> None:
        self.ours.setdefault(case, []).append(summarise("sqlite", case, tallies, elapsed))
        self.tallies.setdefault(case, []).extend(tallies)
        self.elapsed[case] = self.elapsed.get(case, 0.0) + elapsed

    def row(self, case: Case) -> Row:
        return summarise("sqlite", case, self.tallies[case], self.elapsed[case])


async def bench_sqlite_in_turns(args: argparse.Namespace) -> tuple[list[Row], Turns]:
    """The SQLite cases and anchors, `args.turns` slices each, taken in turns."""
    turns, slice_seconds = Turns(), args.seconds / args.turns
    cases = [Case(1, OWN), Case(args.writers, OWN)]
    async with sqlite_store(args.writers) as store:
        for case in cases:
            if args.warmup > 0:
                await run_case(store, "sqlite", case, args.warmup, args.payload)
        for _ in range(args.turns):
            limit = await asyncio.to_thread(sqlite_append_limit, slice_seconds)
            turns.raw.append(limit["rows_per_s"] if limit else 0.0)
            turns.inline.append(await sqlite_inline_rate(slice_seconds, args.payload))
            for case in cases:
                turns.add(case, *await run_tallies(store, case, slice_seconds, args.payload))
            threaded = await asyncio.to_thread(
                eventsourcing_threaded_writes, slice_seconds, args.writers
            )
            turns.threaded.append(threaded["events_per_s"] if threaded else 0.0)
        turns.paired = await paired_one_writer(args.seconds, args.payload)
        rows = [turns.row(case) for case in cases]
        shared = Case(args.writers, ONE)
        await run_case(store, "sqlite", shared, args.warmup, args.payload)
        rows.append(await run_case(store, "sqlite", shared, args.seconds, args.payload))
    for row in rows:
        print_row(row)
    return rows, turns


HEADER = (
    f"{'adapter':<10} {'writers':>7} {'mode':<10} {'appends':>8} {'appends/s':>10} "
    f"{'p50 ms':>8} {'p99 ms':>8} {'conflicts':>9}"
)


def print_row(row: Row) -> None:
    print(
        f"{row.adapter:<10} {row.case.writers:>7} {row.case.mode:<10} {row.appends:>8} "
        f"{row.rate:>10.0f} {row.p50_ms:>8.2f} {row.p99_ms:>8.2f} {row.conflicts:>9}",
        flush=True,
    )


def print_sqlite_ratios(turns: Turns, writers: int) -> None:
    """The SQLite adapter beside its anchors, measured in turns in this run: each ratio is
    of the sums over all turns, then the lowest and highest ratio of a single turn."""
    one, many = Case(1, OWN), Case(writers, OWN)
    ours_one = [row.rate for row in turns.ours[one]]
    ours_many = [row.rate for row in turns.ours[many]]
    print(f"\nsqlite beside its anchors ({len(turns.raw)} turns, in this run)")
    print(f"{'figure':<44} {'ours/s':>9} {'anchor/s':>9} {'ratio':>7} {'goal':>7}  turns")
    lines = [
        ("1 writer vs raw sqlite3 1 row/txn FULL", ours_one, turns.raw, 0.8),
        (f"{writers} writers own streams vs 1 writer (ours)", ours_many, ours_one, 2.0),
        (f"{writers} writers vs eventsourcing {writers} threads", ours_many, turns.threaded, 4.0),
        ("  its append in one thread, no hand-over", turns.inline, turns.raw, None),
    ]
    for label, ours, theirs, goal in lines:
        if not all(theirs):
            print(f"{label:<44} {statistics.mean(ours):>9.0f}  {missing_anchor_note()}")
            continue
        ratio = sum(ours) / sum(theirs)
        each = [mine / anchor for mine, anchor in zip(ours, theirs, strict=True)]
        verdict = "" if goal is None else f"{goal:>5.1f}x {'met' if ratio >= goal else 'not met'}"
        print(
            f"{label:<44} {statistics.mean(ours):>9.0f} {statistics.mean(theirs):>9.0f} "
            f"{ratio:>6.2f}x {verdict:<13} {min(each):.2f}-{max(each):.2f}"
        )
    if turns.paired is not None:
        paired = turns.paired
        label = "  1 writer, raw sqlite3 op by op in between"
        ours, raw = (paired.ops / paired.ours_seconds, paired.ops / paired.raw_seconds)
        print(f"{label:<44} {ours:>9.0f} {raw:>9.0f} {paired.ratio:>6.2f}x")


async def main_async(args: argparse.Namespace) -> int:
    print(machine_line())
    print(
        f"single-event appends, ~{args.payload}-byte JSON payload, "
        f"{args.seconds:g} s per case after {args.warmup:g} s warm-up"
    )
    adapters = available_adapters(args)
    print(HEADER, flush=True)
    rows: list[Row] = []
    turns = None
    for name, opener in adapters:
        if name == "sqlite" and args.anchors and available():
            sqlite_rows, turns = await bench_sqlite_in_turns(args)
            rows.extend(sqlite_rows)
        else:
            rows.extend(await bench_adapter(name, opener, args))
    if turns is not None:
        print_sqlite_ratios(turns, args.writers)
    elif args.anchors:
        print(f"\nsqlite beside its anchors: {missing_anchor_note()}")
    dsn = postgres_dsn(args.postgres, args.durable) if args.postgres else None
    if dsn:
        await bench_process_layouts(dsn, args)
    return 0 if rows else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per case (default 5)")
    parser.add_argument("--warmup", type=float, default=0.5, help="discarded run before each case")
    parser.add_argument("--writers", type=int, default=20, help="concurrent writers (default 20)")
    parser.add_argument(
        "--turns",
        type=int,
        default=4,
        help="SQLite: each case and anchor runs in this many slices, taken in turns (default 4)",
    )
    parser.add_argument("--payload", type=int, default=300, help="event data bytes (default 300)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also bench PostgreSQL (scripts/postgres.sh unless CUSTOMERHUB_POSTGRES_DSN is set)",
    )
    parser.add_argument(
        "--no-durable",
        dest="durable",
        action="store_false",
        help="PostgreSQL commits as its server is set (postgres.sh: synchronous_commit off)",
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="processes the writers are split over (2)"
    )
    parser.add_argument(
        "--compare-with",
        metavar="DIR",
        help="another checkout whose PostgreSQL adapter runs the same process layouts",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per process layout and code (3)"
    )
    parser.add_argument(
        "--no-anchors",
        dest="anchors",
        action="store_false",
        help="leave out the anchors (raw sqlite3, eventsourcing) and the ratios",
    )
    parser.add_argument("--worker-dsn", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker_dsn:  # its stdout talks to the parent: nothing else may go there
        return run_on_server_loop(worker_main(args), say=lambda line: None)
    return run_on_server_loop(main_async(args), say=print)


def run_on_server_loop(main: Coroutine[Any, Any, int], say: Callable[[str], None]) -> int:
    """On uvloop, as `customerhub run` (uvicorn[standard]) serves; asyncio's loop without it."""
    try:
        import uvloop
    except ImportError:
        say("event loop: asyncio (uvloop is not installed)")
        return asyncio.run(main)
    say("event loop: uvloop, as the servers run")
    return uvloop.run(main)


if __name__ == "__main__":
    raise SystemExit(main())
