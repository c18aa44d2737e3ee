"""A `customerhub import` killed with SIGKILL mid-import, then run again on the same file:
the import resumes and finishes, and no row is written twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROWS = 1200


def code(n: int) -> str:
    """Four letters per customer: names no two of which the duplicate scoring finds alike."""
    letters = "bcdfghjklmnpqrstvwxz"
    return "".join(letters[(n // 20**i) % 20] for i in range(4))


def customer_list(path: Path) -> None:
    lines = ["external_id;name;city;country"]
    lines += [f"erp-{n:05d};Atelier {code(n)};Lyon;FR" for n in range(ROWS)]
    path.write_text("\n".join(lines), encoding="utf-8")


def run_import(data_dir: Path, csv_file: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CUSTOMERHUB_DATA_DIR": str(data_dir),
        "CUSTOMERHUB_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "customerhub.cli", "import", str(csv_file)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def import_state(data_dir: Path) -> tuple[str, int, dict[str, int]] | None:
    path = data_dir / "imports.db"
    if not path.exists():
        return None
    with sqlite3.connect(path) as db:
        try:
            row = db.execute("SELECT import_id, next_row, counts FROM customer_imports").fetchone()
        except sqlite3.OperationalError:
            return None
    if row is None:
        return None
    return row[0], int(row[1]), json.loads(row[2])


def customer_streams(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "events.db") as db:
        rows = db.execute(
            "SELECT stream, COUNT(*) FROM events WHERE stream LIKE 'customer-%' GROUP BY stream"
        ).fetchall()
    return dict(rows)


@pytest.mark.slow
def test_a_killed_import_run_again_finishes_with_no_row_twice(tmp_path: Path) -> None:
    csv_file = tmp_path / "customers.csv"
    customer_list(csv_file)
    data_dir = tmp_path / "var"
    first = run_import(data_dir, csv_file)
    deadline = time.monotonic() + 120
    state = None
    while time.monotonic() < deadline:
        state = import_state(data_dir)
        if state is not None and state[1] > 2:
            break
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        time.sleep(0.05)
    else:
        first.kill()
        raise AssertionError("the import never committed a batch")
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = import_state(data_dir)
    assert killed_at is not None
    import_id, next_row, _ = killed_at
    assert 2 < next_row < ROWS + 2, "killed mid-import, not before or after"

    second = run_import(data_dir, csv_file)
    _, stderr = second.communicate(timeout=600)
    assert second.returncode == 0, stderr.decode()
    final = import_state(data_dir)
    assert final is not None
    assert final[0] == import_id, "the same import resumed"
    assert final[2]["created"] == ROWS, final
    assert sum(final[2].values()) == ROWS
    streams = customer_streams(data_dir)
    assert len(streams) == ROWS
    assert set(streams.values()) == {1}, "every customer was created exactly once"
