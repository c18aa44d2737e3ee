"""Fixtures shared by every test layer: real servers, never fakes."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from customerhub_shared.cloudevents import Topics
from tests.support.servers import STARTED, note_start, stop_started

REPO = Path(__file__).resolve().parents[1]
# `make test` sets it: stop at the end the servers this run started.
STOP_SERVERS = "CUSTOMERHUB_TEST_STOP_SERVERS"
_stopped: list[str] = []


# `make test` starts SeaweedFS's script as the run begins: its first build takes minutes,
# spent beside the unit tests rather than in front of the first S3 test.
_seaweedfs_early: subprocess.Popen[str] | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _seaweedfs_early
    if os.environ.get(STOP_SERVERS) == "1" and not os.environ.get("CUSTOMERHUB_S3_ENDPOINT"):
        _seaweedfs_early = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "seaweedfs.sh"), "start"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def _start_seaweedfs(script: Path) -> subprocess.CompletedProcess[str]:
    """The early start's outcome, or the script run now."""
    global _seaweedfs_early
    early, _seaweedfs_early = _seaweedfs_early, None
    if early is not None:
        stdout, stderr = early.communicate(timeout=1800)
        return subprocess.CompletedProcess(early.args, early.returncode, stdout, stderr)
    return subprocess.run(
        ["bash", str(script), "start"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,  # a first run builds SeaweedFS from the Go module proxy
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _seaweedfs_early is not None:  # no S3 test ran: let the script finish, then stop
        note_start("seaweedfs", _start_seaweedfs(REPO / "scripts" / "seaweedfs.sh").stderr)
    if os.environ.get(STOP_SERVERS) == "1":
        _stopped.extend(stop_started())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _stopped:
        terminalreporter.write_line(f"stopped the servers this run started: {', '.join(_stopped)}")
    if STARTED:
        terminalreporter.write_line(
            f"left running, started by this run: {', '.join(STARTED)} (`make stop` stops them;"
            f" `make test` stops what it starts)"
        )


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
    note_start("postgres", done.stderr)
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


@pytest.fixture
def mongodb_database(mongodb_url: str) -> Iterator[str]:
    """A database name of this test's own on the MongoDB-wire server, dropped afterwards:
    FerretDB keeps its data directory from run to run, and other runs share the server."""
    from pymongo import MongoClient

    name = f"test_{uuid.uuid4().hex[:16]}"
    yield name
    client: MongoClient[dict[str, object]] = MongoClient(mongodb_url)
    try:
        client.drop_database(name)
    finally:
        client.close()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap servers of a real Kafka: $KAFKA_BOOTSTRAP_SERVERS, a Docker Kafka (testcontainers),
    or Kafka 3.9 run with plain `java` by scripts/kafka.sh. One broker for the whole session.

    Fails (never skips) when none can be had.
    """
    from tests.integration.kafka.broker import kafka_bootstrap_servers

    try:
        return kafka_bootstrap_servers()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
async def kafka_topics(kafka_bootstrap: str) -> AsyncIterator[Topics]:
    """Topics of this test's own on the session's broker, created with 6 partitions (as the
    relay creates them) and deleted afterwards."""
    from customerhub_shared.bus.kafka import ensure_topics
    from tests.integration.kafka.topics import delete_topics

    suffix = uuid.uuid4().hex[:12]
    topics = Topics(
        customer=f"test.{suffix}.customer.events", equipment=f"test.{suffix}.equipment.events"
    )
    await ensure_topics(kafka_bootstrap, topics.all(), partitions=6)
    yield topics
    await delete_topics(kafka_bootstrap, topics.all())


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    """A real S3-compatible server: $CUSTOMERHUB_S3_ENDPOINT (with CUSTOMERHUB_S3_ACCESS_KEY_ID
    and CUSTOMERHUB_S3_SECRET_ACCESS_KEY), else SeaweedFS built and started by
    scripts/seaweedfs.sh. Fails (never skips) when neither yields a server."""
    endpoint = os.environ.get("CUSTOMERHUB_S3_ENDPOINT", "").strip()
    if endpoint:
        key_id = os.environ.get("CUSTOMERHUB_S3_ACCESS_KEY_ID", "")
        secret = os.environ.get("CUSTOMERHUB_S3_SECRET_ACCESS_KEY", "")
        if not key_id or not secret:
            pytest.fail(
                "CUSTOMERHUB_S3_ENDPOINT is set without CUSTOMERHUB_S3_ACCESS_KEY_ID and "
                "CUSTOMERHUB_S3_SECRET_ACCESS_KEY",
                pytrace=False,
            )
        return S3Server(endpoint, key_id, secret)
    script = REPO / "scripts" / "seaweedfs.sh"
    try:
        done = _start_seaweedfs(script)
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"could not run {script} to provision SeaweedFS: {error}", pytrace=False)
    note_start("seaweedfs", done.stderr)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("http://"):
        pytest.fail(
            f"no S3 server: CUSTOMERHUB_S3_ENDPOINT is unset and {script} start exited "
            f"{done.returncode}.\n--- stdout ---\n{done.stdout[-2000:]}"
            f"\n--- stderr ---\n{done.stderr[-4000:]}",
            pytrace=False,
        )
    local_dir = Path(os.environ.get("CUSTOMERHUB_LOCAL_DIR", REPO / ".local"))
    credentials = dict(
        line.split("=", 1)
        for line in (local_dir / "seaweedfs" / "credentials").read_text().splitlines()
        if "=" in line
    )
    return S3Server(
        lines[-1],
        credentials["CUSTOMERHUB_S3_ACCESS_KEY_ID"],
        credentials["CUSTOMERHUB_S3_SECRET_ACCESS_KEY"],
    )
