"""The local servers this test run started (scripts/{postgres,kafka,ferretdb}.sh), so that
`make test` stops them at the end, and only them: a server that was already running (another
run's, the local cluster's) stays up."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STARTED: list[str] = []


def note_start(server: str, script_stderr: str) -> None:
    """Remember `server` if its script said it started it (rather than found it running)."""
    if f"{server}.sh: starting on " in script_stderr and server not in STARTED:
        STARTED.append(server)


def stop_started() -> list[str]:
    """Stop what this run started, last started first; the names of those stopped."""
    stopped = []
    for server in reversed(STARTED):
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / f"{server}.sh"), "stop"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode == 0:
            stopped.append(server)
    STARTED.clear()
    return stopped
