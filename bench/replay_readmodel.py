"""Events/s and peak memory of a full read-model replay (`customerhub replay customers`).

Runs the real operator command as a subprocess against a history made by generate_history.py,
with the environment pointing at that data dir and the chosen read store, and measures the
process from the outside: wall time, CPU time and peak RSS (ru_maxrss from wait4, the figure
`/usr/bin/time -v` prints), plus RSS sampled from /proc/<pid>/status while it runs.

    uv run python bench/replay_readmodel.py --data-dir DIR [--read-store sqlite]
    uv run python bench/replay_readmodel.py --data-dir DIR --read-store mongodb \
        [--mongodb-url mongodb://127.0.0.1:27018/]     # FerretDB from scripts/ferretdb.sh start
    uv run --with pyinstrument python bench/replay_readmodel.py --data-dir DIR --pyinstrument

MongoDB replays go to a scratch database (bench_replay_<random>), dropped afterwards unless
--keep. On FerretDB (SQLite backend) every upsert costs milliseconds: replay a smaller history
there (generate_history.py --customers 10000 --events 100000). A SQLite replay leaves the new
generation active in DIR/read.db, which query_latency.py then serves. Figures, not a test.

Beside the figure it prints its anchor, measured right after it, and the ratio (--no-anchor
skips that): on SQLite, eventsourcing's read + decode of its own log (bench/_anchors.py, in
the anchors' venv); on MongoDB, the server's own `insert_many` of the replayed documents.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from _anchors import eventsourcing_read_rate, missing_anchor_note
from _stats import machine_line

REPO = Path(__file__).resolve().parent.parent
MANIFEST = "bench-history.json"
FERRETDB_PID = REPO / ".local" / "ferretdb" / "ferretdb.pid"
_OUTCOME = re.compile(r"(\w+): generation (\d+) -> (\d+).*?([\d,]+) events in ([\d.]+)s")


@dataclass
class Sampler:
    """RSS of a process, read from /proc every `interval` seconds."""

    pid: int
    interval: float = 0.5
    samples: list[tuple[float, int]] = field(default_factory=list)
    hwm_kib: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        began = time.perf_counter()
        while not self._stop.is_set():
            status = _proc_status(self.pid)
            if status is None:
                return
            self.samples.append((time.perf_counter() - began, status.get("VmRSS", 0)))
            self.hwm_kib = max(self.hwm_kib, status.get("VmHWM", 0))
            self._stop.wait(self.interval)


def _proc_status(pid: int) -> dict[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a running process (for the read-store server's share of the work)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def ferretdb_pid() -> int | None:
    try:
        pid = int(FERRETDB_PID.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _cpu_seconds(pid) is not None else None


def replay_env(args: argparse.Namespace, database: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CUSTOMERHUB_DATA_DIR=str(args.data_dir),
        CUSTOMERHUB_READ_STORE=args.read_store,
        CUSTOMERHUB_LOG_LEVEL="WARNING",
    )
    if args.postgres:
        env.update(CUSTOMERHUB_EVENT_STORE="postgres", CUSTOMERHUB_POSTGRES_DSN=args.postgres)
    if args.read_store == "mongodb":
        assert database is not None
        env.update(MONGODB_URL=args.mongodb_url, CUSTOMERHUB_MONGODB_DATABASE=database)
    return env


def replay_command(args: argparse.Namespace, profile_path: Path | None) -> list[str]:
    cli = ["-m", "customerhub.cli", "replay", "customers"]
    if profile_path is not None:
        return [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(profile_path), *cli]
    return [sys.executable, *cli]


def compile_phone_metadata() -> None:
    """Compile phonenumbers' per-country metadata modules to bytecode, as the image does
    (UV_COMPILE_BYTECODE=1): they are imported as countries are met, during the replay, and
    with PYTHONDONTWRITEBYTECODE set each run would compile them again."""
    spec = importlib.util.find_spec("phonenumbers")
    if spec is None or not spec.submodule_search_locations:
        return
    for location in spec.submodule_search_locations:
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j0", location], check=True)


def run_replay(args: argparse.Namespace, database: str | None) -> dict[str, object]:
    profile = (
        args.data_dir / f"replay-{args.read_store}.pyinstrument.txt" if args.pyinstrument else None
    )
    command = replay_command(args, profile)
    log_path = args.data_dir / f"replay-{args.read_store}.stderr.log"
    print(f"command: {' '.join(command)}")
    server_pid = ferretdb_pid() if args.read_store == "mongodb" else None
    server_cpu_before = _cpu_seconds(server_pid) if server_pid else None
    began = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=replay_env(args, database),
            stdout=subprocess.PIPE,
            stderr=log,
        )
        sampler = Sampler(process.pid)
        sampler.start()
        relay = threading.Thread(target=_relay_progress, args=(log_path, process), daemon=True)
        relay.start()
        assert process.stdout is not None
        stdout = process.stdout.read().decode()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
    wall = time.perf_counter() - began
    print(file=sys.stderr)
    server_cpu = None
    if server_pid and server_cpu_before is not None:
        after = _cpu_seconds(server_pid)
        server_cpu = None if after is None else after - server_cpu_before
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise SystemExit(f"replay failed with exit code {process.returncode}:\n{stdout}\n{tail}")
    match = _OUTCOME.search(stdout)
    return {
        "stdout": stdout.strip(),
        "wall": wall,
        "events": int(match.group(4).replace(",", "")) if match else None,
        "cli_seconds": float(match.group(5)) if match else None,
        "generation": int(match.group(3)) if match else None,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "maxrss_kib": usage.ru_maxrss,
        "hwm_kib": sampler.hwm_kib,
        "samples": sampler.samples,
        "server_cpu": server_cpu,
        "profile": profile,
    }


def _relay_progress(log_path: Path, process: subprocess.Popen[bytes]) -> None:
    """Echo the CLI's progress bar (it redraws one line on stderr) every few seconds."""
    while process.poll() is None:
        time.sleep(5)
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        last = text.replace("\n", "\r").split("\r")[-1].strip()
        if last:
            print(f"\r  {last}", end="", file=sys.stderr, flush=True)


def read_store_size(args: argparse.Namespace, database: str | None, generation: int | None) -> str:
    if args.read_store == "sqlite":
        files = [args.data_dir / name for name in ("read.db", "read.db-wal")]
        total = sum(path.stat().st_size for path in files if path.exists())
        count = ""
        if generation is not None:
            import sqlite3

            db = sqlite3.connect(args.data_dir / "read.db")
            try:
                docs = db.execute(
                    f'SELECT COUNT(*) FROM "docs_customers_g{generation}"'
                ).fetchone()[0]
                terms = db.execute(
                    "SELECT COUNT(*) FROM search_terms WHERE collection = ?",
                    (f"customers_g{generation}",),
                ).fetchone()[0]
                count = f", {docs:,} documents, {terms:,} search-term rows"
            finally:
                db.close()
        return f"read.db {total / 2**20:,.0f} MiB (with WAL){count}"
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(args.mongodb_url)
    try:
        db = client[database or "customerhub"]
        docs = db[f"customers_g{generation}"].count_documents({}) if generation else 0
        stats = db.command("dbStats")
        size = stats.get("storageSize") or stats.get("dataSize") or 0
        return f"database {database}: {docs:,} documents, storage {float(size) / 2**20:,.0f} MiB"
    finally:
        client.close()


def bulk_insert_rate(args: argparse.Namespace, database: str, generation: int) -> float:
    """The server's own bulk-insert rate, documents/s: the replayed documents inserted again
    into a scratch collection with `insert_many` (unordered, 1,000 a call), timed."""
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(args.mongodb_url)
    try:
        db = client[database]
        documents = list(db[f"customers_g{generation}"].find({}))
        scratch = db["bulk_insert_anchor"]
        began = time.perf_counter()
        for start in range(0, len(documents), 1000):
            scratch.insert_many(documents[start : start + 1000], ordered=False)
        seconds = time.perf_counter() - began
        scratch.drop()
        return len(documents) / seconds
    finally:
        client.close()


def print_bulk_insert_ratio(
    args: argparse.Namespace, outcome: dict[str, object], database: str
) -> None:
    """Documents/s of the replay (its final documents over its time) against the server's own
    bulk insert of the same documents, measured right after it."""
    generation, seconds = outcome["generation"], outcome["cli_seconds"]
    if not isinstance(generation, int) or not isinstance(seconds, float) or args.no_anchor:
        return
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(args.mongodb_url)
    try:
        documents = client[database][f"customers_g{generation}"].count_documents({})
    finally:
        client.close()
    ours, anchor = documents / seconds, bulk_insert_rate(args, database, generation)
    print(
        f"replay {ours:,.0f} documents/s ({documents:,} documents) | anchor insert_many"
        f" {anchor:,.0f} documents/s | ratio {ours / anchor:.2f} | goal >= 0.50:"
        f" {'met' if ours / anchor >= 0.5 else 'NOT met'}"
    )


def drop_database(args: argparse.Namespace, database: str) -> None:
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(args.mongodb_url)
    try:
        client.drop_database(database)
    finally:
        client.close()


def report(args: argparse.Namespace, outcome: dict[str, object], size: str) -> None:
    manifest_path = args.data_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    events = outcome["events"]
    wall = float(outcome["wall"])  # type: ignore[arg-type]
    cli_seconds = outcome["cli_seconds"]
    if manifest:
        print(
            f"history: {manifest['customers']:,} customers, {manifest['customer_events']:,}"
            f" customer events (+{manifest.get('bookkeeping_events', 0):,} bookkeeping),"
            f" head {manifest['head']:,} ({args.data_dir})"
        )
    print(
        f"read store: {args.read_store}"
        + (f" at {args.mongodb_url}" if args.read_store == "mongodb" else "")
    )
    print(f"cli: {outcome['stdout']}")
    if "(resumed)" in str(outcome["stdout"]):
        print(
            "WARNING: the replay resumed an interrupted one: it applied only the rest of the log"
            " (use --fresh for a full replay)"
        )
    if isinstance(events, int) and isinstance(cli_seconds, float):
        print(
            f"replay: {events:,} events in {cli_seconds:.1f} s"
            f" = {events / cli_seconds:,.0f} events/s"
            f" (process wall {wall:.1f} s incl. start-up = {events / wall:,.0f} events/s)"
        )
    user, system = float(outcome["user"]), float(outcome["sys"])  # type: ignore[arg-type]
    print(
        f"replay process CPU: {user:.1f} s user + {system:.1f} s sys"
        f" = {100 * (user + system) / wall:.0f}% of one core over the wall time"
    )
    if outcome["server_cpu"] is not None:
        server = float(outcome["server_cpu"])  # type: ignore[arg-type]
        print(
            f"FerretDB server CPU during the replay: {server:.1f} s"
            f" ({100 * server / wall:.0f}% of one core)"
        )
    maxrss, hwm = int(outcome["maxrss_kib"]), int(outcome["hwm_kib"])  # type: ignore[call-overload]
    print(
        f"peak RSS of the replay process: {maxrss / 1024:,.0f} MiB"
        f" (ru_maxrss; /proc VmHWM seen {hwm / 1024:,.0f} MiB)"
    )
    samples: list[tuple[float, int]] = outcome["samples"]  # type: ignore[assignment]
    if samples:
        marks = [
            samples[min(len(samples) - 1, int(len(samples) * q))]
            for q in (0.1, 0.25, 0.5, 0.75, 1.0)
        ]
        print("RSS over time: " + ", ".join(f"{t:.0f}s {kib / 1024:,.0f} MiB" for t, kib in marks))
    print(f"after: {size}")
    if outcome["profile"]:
        print(f"profile: {outcome['profile']}")
    if isinstance(events, int) and isinstance(cli_seconds, float) and args.read_store == "sqlite":
        print_anchor_ratio(args, events / cli_seconds)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"bench process CPU {usage.ru_utime + usage.ru_stime:.1f} s (sampling, relaying)")
    print(machine_line())


# The goal, as a ratio: 50,000 events/s where anchor (d) reads ~140,000 (its steady figure).
GOAL_RATIO = 50_000 / 140_000


def print_anchor_ratio(args: argparse.Namespace, rate: float) -> None:
    """Anchor (d), eventsourcing's read + decode of its log, measured now, and our ratio."""
    if args.no_anchor:
        return
    anchor = eventsourcing_read_rate()
    if anchor is None:
        print(missing_anchor_note())
        return
    ratio = rate / anchor["events_per_s"]
    verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(
        f"anchor eventsourcing (d) read+decode: {anchor['events_per_s']:,.0f} events/s"
        f" (its log {anchor['log_events']:,} events, measured right after the replay)"
    )
    print(
        f"replay {rate:,.0f} events/s | anchor {anchor['events_per_s']:,.0f} events/s"
        f" | ratio {ratio:.2f} | goal >= {GOAL_RATIO:.2f}: {verdict}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="from generate_history.py")
    parser.add_argument("--read-store", choices=["sqlite", "mongodb"], default="sqlite")
    parser.add_argument(
        "--mongodb-url",
        default=os.environ.get("MONGODB_URL") or "mongodb://127.0.0.1:27018/",
        help="default: $MONGODB_URL, else FerretDB of scripts/ferretdb.sh",
    )
    parser.add_argument("--mongodb-database", help="default: bench_replay_<random>, dropped after")
    parser.add_argument("--keep", action="store_true", help="keep the MongoDB scratch database")
    parser.add_argument("--postgres", metavar="DSN", help="the history is in PostgreSQL")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="sqlite: delete DIR/read.db first, so an interrupted earlier replay is not resumed",
    )
    parser.add_argument(
        "--no-anchor", action="store_true", help="skip the anchor run (eventsourcing read, ~20 s)"
    )
    parser.add_argument(
        "--pyinstrument",
        action="store_true",
        help="profile the replay (run this under `uv run --with pyinstrument`)",
    )
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.postgres and not (args.data_dir / "events.db").exists():
        sys.exit(f"{args.data_dir} has no events.db: run generate_history.py first")
    if args.fresh and args.read_store == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (args.data_dir / f"read.db{suffix}").unlink(missing_ok=True)
        print(f"deleted {args.data_dir / 'read.db'}: replaying from scratch")
    database = None
    if args.read_store == "mongodb":
        database = args.mongodb_database or f"bench_replay_{uuid.uuid4().hex[:8]}"
    compile_phone_metadata()
    outcome = run_replay(args, database)
    try:
        size = read_store_size(args, database, outcome["generation"])  # type: ignore[arg-type]
    except Exception as error:  # the figures above matter more than the size
        size = f"(size unknown: {error})"
    report(args, outcome, size)
    if database is not None:
        print_bulk_insert_ratio(args, outcome, database)
    if database is not None and not args.keep and not args.mongodb_database:
        drop_database(args, database)
        print(f"dropped scratch database {database}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
