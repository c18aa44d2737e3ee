"""A real MongoDB-wire-protocol server for the tests: never a fake, never a silent skip.

`mongodb_url()` returns a URL for, in order of preference:

1. ``$MONGODB_URL``, when set: a server someone else runs;
2. a ``mongo:7`` container (``$CUSTOMERHUB_MONGO_IMAGE`` overrides the image) through
   testcontainers, when a Docker engine answers ``docker info`` and testcontainers is installed;
   the container lives as long as this process;
3. FerretDB v1.24 on SQLite, built and started by ``scripts/ferretdb.sh start`` (Go, no Docker);
   it is left running for the next run, ``scripts/ferretdb.sh stop`` stops it.

When none of them gives a server it raises RuntimeError saying why each failed; the caller turns
that into a test failure. The URL is computed once per process.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from tests.support.servers import note_start

REPO = Path(__file__).resolve().parents[2]
FERRETDB_SCRIPT = REPO / "scripts" / "ferretdb.sh"
DEFAULT_IMAGE = "mongo:7"

_lock = threading.Lock()
_url: str | None = None
_container: Any = None  # the testcontainers MongoDbContainer we started, if any


def mongodb_url() -> str:
    """A ``mongodb://`` URL for a live server (see the module docstring for where it comes from)."""
    global _url
    with _lock:
        if _url is None:
            _url = _provision()
        return _url


def _provision() -> str:
    url = os.environ.get("MONGODB_URL", "").strip()
    if url:
        return url

    reasons: list[str] = []

    docker_problem = _docker_problem()
    if docker_problem is None:
        try:
            return _start_container()
        except Exception as error:  # any failure here falls through to FerretDB
            reasons.append(f"Docker answers, but the MongoDB container did not start: {error!r}")
    else:
        reasons.append(docker_problem)

    try:
        return _start_ferretdb()
    except RuntimeError as error:
        reasons.append(str(error))

    raise RuntimeError("no MongoDB server: MONGODB_URL is unset, and\n- " + "\n- ".join(reasons))


def _docker_problem() -> str | None:
    """None if a Docker engine answers and testcontainers is importable, else why not."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker command on PATH"
    try:
        probe = subprocess.run([docker, "info"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`docker info` failed: {error!r}"
    if probe.returncode != 0:
        return f"`docker info` exited {probe.returncode} (no usable Docker engine)"
    try:
        _container_class()
    except ImportError as error:
        return f"Docker answers, but testcontainers' MongoDB module is missing: {error}"
    return None


def _container_class() -> Any:
    try:
        from testcontainers.community.mongodb import MongoDbContainer
    except ImportError:  # testcontainers < 4.14 keeps it here
        from testcontainers.mongodb import MongoDbContainer
    return MongoDbContainer


def _start_container() -> str:
    global _container
    image = os.environ.get("CUSTOMERHUB_MONGO_IMAGE", "").strip() or DEFAULT_IMAGE
    container = _container_class()(image)
    container.start()
    _container = container
    atexit.register(container.stop)
    return str(container.get_connection_url())


def _start_ferretdb() -> str:
    try:
        done = subprocess.run(
            ["bash", str(FERRETDB_SCRIPT), "start"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,  # the first run on a fresh machine downloads Go modules and builds
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"could not run {FERRETDB_SCRIPT} start: {error!r}") from error
    note_start("ferretdb", done.stderr)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("mongodb://"):
        raise RuntimeError(
            f"{FERRETDB_SCRIPT} start exited {done.returncode} without a URL"
            f"\n--- stdout ---\n{done.stdout[-2000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
        )
    return lines[-1]
