"""The reference figures the benches print beside their own (the anchors' README explains them).

Each runs the anchor's own code, in its own venv (`bash <anchors>/setup.sh` makes it), in the
same sitting as the bench: this machine's speed drifts, so only a ratio measured together is
worth quoting. Where the anchors or their venv are missing, the figure is None and the bench
says so instead of printing a ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = Path.home() / ".cache" / "anchors-venv" / "bin" / "python"

# Anchor (d) of bench_eventsourcing.py: build a log of eventsourcing events (100 per save, as
# its figure (b) does), then read and decode it all in pages, wrapping around, for a while.
_EVENTSOURCING_READ = """
import json, os, shutil, sys, tempfile
sys.path.insert(0, sys.argv[1])
import bench_eventsourcing as es
tmp = tempfile.mkdtemp(prefix="es-anchor-")
try:
    app = es.Customers(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                            "SQLITE_DBNAME": os.path.join(tmp, "events.sqlite")})
    es.bench_write(app, 100, float(sys.argv[2]))
    rate, select_share, events = es.bench_read(app, float(sys.argv[3]), 500)
    print(json.dumps({"events_per_s": rate, "log_events": events, "select_share": select_share}))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
"""


# bench_sqlite_limit.py's figure: raw sqlite3, WAL, synchronous=FULL, 1 row per transaction.
_SQLITE_LIMIT = """
import json, os, shutil, sys, tempfile
sys.path.insert(0, sys.argv[1])
import bench_sqlite_limit as raw
tmp = tempfile.mkdtemp(prefix="sqlite-limit-")
try:
    rate, p50, p99 = raw.bench(os.path.join(tmp, "limit.sqlite"), "FULL", 1, float(sys.argv[2]))
    print(json.dumps({"rows_per_s": rate, "p50_ms": p50, "p99_ms": p99}))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
"""

# bench_eventsourcing.py's figure (c): new aggregates of 1 event per save(), from N threads.
_EVENTSOURCING_THREADS = """
import json, os, shutil, sys, tempfile
sys.path.insert(0, sys.argv[1])
import bench_eventsourcing as es
tmp = tempfile.mkdtemp(prefix="es-anchor-")
try:
    app = es.Customers(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                            "SQLITE_DBNAME": os.path.join(tmp, "events.sqlite")})
    rate, p50, p99, _ = es.bench_write(app, 1, float(sys.argv[2]), int(sys.argv[3]))
    print(json.dumps({"events_per_s": rate, "p50_ms": p50, "p99_ms": p99}))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
"""


def anchors_dir() -> Path | None:
    """$CUSTOMERHUB_ANCHORS, else `shared/anchors` beside the checkout (or its parent)."""
    candidates = [os.environ.get("CUSTOMERHUB_ANCHORS", "")]
    candidates += [str(REPO.parent / "shared" / "anchors"), str(REPO.parents[1] / "shared/anchors")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "bench_eventsourcing.py").exists():
            return Path(candidate)
    return None


def available() -> bool:
    """Whether the anchors and their venv are there to run."""
    return anchors_dir() is not None and VENV_PYTHON.exists()


def sqlite_append_limit(seconds: float) -> dict[str, Any] | None:
    """bench_sqlite_limit.py, WAL FULL, 1 row per transaction: rows/s; None if absent."""
    return _run_anchor(_SQLITE_LIMIT, str(seconds))


def eventsourcing_threaded_writes(seconds: float, threads: int) -> dict[str, Any] | None:
    """Anchor (c): eventsourcing saving 1 event per save() from `threads` threads, events/s."""
    return _run_anchor(_EVENTSOURCING_THREADS, str(seconds), str(threads))


def _run_anchor(script: str, *arguments: str) -> dict[str, Any] | None:
    where = anchors_dir()
    if where is None or not VENV_PYTHON.exists():
        return None
    answer = subprocess.run(
        [str(VENV_PYTHON), "-c", script, str(where), *arguments],
        cwd=where,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return figures


def eventsourcing_read_rate(
    write_seconds: float = 8.0, read_seconds: float = 10.0
) -> dict[str, Any] | None:
    """Anchor (d): eventsourcing's read + decode of its SQLite log, events/s; None if absent."""
    where = anchors_dir()
    if where is None or not VENV_PYTHON.exists():
        return None
    answer = subprocess.run(
        [
            str(VENV_PYTHON),
            "-c",
            _EVENTSOURCING_READ,
            str(where),
            str(write_seconds),
            str(read_seconds),
        ],
        cwd=where,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return figures


def missing_anchor_note() -> str:
    if anchors_dir() is None:
        return "anchor: not found (set CUSTOMERHUB_ANCHORS to the anchors' directory)"
    return f"anchor: no venv at {VENV_PYTHON} (run `bash <anchors>/setup.sh`)"
