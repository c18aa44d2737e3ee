"""Fixtures shared by every test layer: real servers, never fakes."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """A DSN for a real PostgreSQL server: $CUSTOMERHUB_POSTGRES_DSN, else scripts/postgres.sh.

    Fails (never skips) when neither yields a server: a PostgreSQL test must talk to one.
    """
    dsn = os.environ.get("CUSTOMERHUB_POSTGRES_DSN", "").strip()
    if dsn:
        return dsn
    script = REPO / "scripts" / "postgres.sh"
    try:
        done = subprocess.run(
            ["bash", str(script), "start"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,  # a first run on a fresh machine installs PostgreSQL with apt-get
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"could not run {script} to provision PostgreSQL: {error}", pytrace=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("postgresql://"):
        pytest.fail(
            f"no PostgreSQL server: CUSTOMERHUB_POSTGRES_DSN is unset and {script} start "
            f"exited {done.returncode}.\n--- stdout ---\n{done.stdout[-2000:]}"
            f"\n--- stderr ---\n{done.stderr[-4000:]}",
            pytrace=False,
        )
    return lines[-1]


@pytest.fixture
def fresh_postgres_dsn(postgres_dsn: str) -> Iterator[str]:
    """A database of its own on the real server, for tests that need an empty event log."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_dsn.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def mongodb_url() -> str:
    """A real MongoDB-wire server: $MONGODB_URL, a Docker MongoDB, or FerretDB built here.

    Fails (never skips) when none can be had.
    """
    from tests.integration.mongo_server import mongodb_url as provision

    try:
        return provision()
    except RuntimeError as error:
        pytest.fail(f"no MongoDB-wire server: {error}", pytrace=False)
