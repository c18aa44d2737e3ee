"""`make test` stops the servers it started, and only those: a pytest run that had to start a
PostgreSQL (on a port and directory of its own here) stops it at the end when
CUSTOMERHUB_TEST_STOP_SERVERS=1, and leaves a server it found running alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import free_port

REPO = Path(__file__).resolve().parents[2]
A_POSTGRES_TEST = "tests/integration/checkpoints/test_checkpoint_store.py"

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def run_pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            A_POSTGRES_TEST,
            "-q",
            "-k",
            "postgres",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def postgres(env: dict[str, str], command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "postgres.sh"), command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def is_running(pg_dir: Path) -> bool:
    return (pg_dir / "data" / "postmaster.pid").exists()


def test_a_test_run_stops_the_server_it_started_and_only_that(tmp_path: Path) -> None:
    pg_dir = Path("/var/tmp") / f"customerhub-test-{tmp_path.name}"  # reachable by `postgres`
    env = {k: v for k, v in os.environ.items() if k != "CUSTOMERHUB_POSTGRES_DSN"}
    env |= {
        "CUSTOMERHUB_PG_DIR": str(pg_dir),
        "CUSTOMERHUB_PG_PORT": str(free_port()),
        "CUSTOMERHUB_TEST_STOP_SERVERS": "1",
    }
    try:
        done = run_pytest(env)
        assert done.returncode == 0, done.stdout[-3000:]
        assert "stopped the servers this run started: postgres" in done.stdout
        assert not is_running(pg_dir)

        assert postgres(env, "start").returncode == 0  # now someone else's, already running
        done = run_pytest(env)
        assert done.returncode == 0, done.stdout[-3000:]
        assert "stopped the servers" not in done.stdout
        assert is_running(pg_dir)
    finally:
        postgres(env, "stop")
        subprocess.run(["rm", "-rf", str(pg_dir)], check=False)
