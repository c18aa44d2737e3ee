"""`POST /v1/customers` beside the FastAPI+JWT anchor, under the anchors' own wrk load.

What ../shared/anchors/side_by_side_command.sh does, from Python: each round starts the project
(`customerhub run`, pinned to CPU 1), loads it with `bench_fastapi_bare.sh URL BODY` (wrk on
CPU 0, 32 connections), stops it, then runs the anchor's server under the same load; the ratio
is taken within the round, since this machine's speed drifts between runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Columns of bench_fastapi_bare.sh's table, after the target's label.
_FIELDS = ("mode", "http", "rps", "p50", "p90", "p99", "non2xx", "sockerr", "cpu")


@dataclass(frozen=True)
class WrkRow:
    target: str
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    cpu: str

    @property
    def valid(self) -> bool:
        return self.errors == 0


def wrk_available(anchors: Path | None) -> bool:
    return (
        anchors is not None
        and shutil.which("wrk") is not None
        and shutil.which("taskset") is not None
    )


def parse_rows(output: str) -> dict[str, WrkRow]:
    """The table bench_fastapi_bare.sh ends with: `ext`, `bare`, `jwt`, `dur` rows by label."""
    rows: dict[str, WrkRow] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) != 2 + len(_FIELDS) or parts[0] not in {"ext", "bare", "jwt", "dur"}:
            continue
        values = dict(zip(_FIELDS, parts[2:], strict=True))
        rows[parts[0]] = WrkRow(
            target=parts[1],
            rps=float(values["rps"]),
            p50_ms=float(values["p50"]),
            p90_ms=float(values["p90"]),
            p99_ms=float(values["p99"]),
            errors=int(values["non2xx"]) + int(values["sockerr"]),
            cpu=values["cpu"],
        )
    return rows


def run_wrk(
    anchors: Path, *, url: str, body: Path, seconds: float, token: str = "", pid: int | None = None
) -> dict[str, WrkRow]:
    """bench_fastapi_bare.sh in pinned mode: against `url` if given, else its own anchor app."""
    env = {**os.environ, "MODES": "pinned", "DURATION": f"{seconds:g}"}
    if token:
        env["TOKEN"] = token
    if pid is not None:
        env["SERVER_PID"] = str(pid)
    answer = subprocess.run(
        ["bash", str(anchors / "bench_fastapi_bare.sh"), url, str(body)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_rows(answer.stdout)


def print_round(number: int, ours: WrkRow, anchor: dict[str, WrkRow]) -> None:
    print(f"\nround {number}: wrk, 32 connections, server pinned to CPU 1, wrk to CPU 0")
    print(f"{'target':<40} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'cpu':>5}")
    shown = [("ours  POST /v1/customers", ours)]
    shown += [(f"anchor {row.target}", row) for key, row in anchor.items() if key in {"jwt", "dur"}]
    for label, row in shown:
        flag = "" if row.valid else "  (errors: not a valid figure)"
        print(
            f"{label:<40} {row.rps:>8.0f} {row.p50_ms:>8.2f} {row.p90_ms:>8.2f} "
            f"{row.p99_ms:>8.2f} {row.cpu:>5}{flag}"
        )
    jwt = anchor.get("jwt")
    if jwt is not None and jwt.rps:
        met = "met" if ours.rps >= 0.5 * jwt.rps and ours.p99_ms < 25 else "not met"
        print(
            f"ratio ours / anchor+JWT req/s: {ours.rps / jwt.rps:.3f} "
            f"(goal >= 0.50 with p99 < 25 ms: {met})"
        )
    durable = anchor.get("dur")
    if durable is not None and durable.rps:
        print(f"ratio ours / anchor+JWT+durable append req/s: {ours.rps / durable.rps:.3f}")
