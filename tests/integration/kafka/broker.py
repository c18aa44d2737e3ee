"""A real Apache Kafka for the tests: never a fake, never a silent skip.

`kafka_bootstrap_servers()` returns bootstrap servers for, in order of preference:

1. ``$KAFKA_BOOTSTRAP_SERVERS``, when set: a cluster someone else runs;
2. a Kafka container in KRaft mode (``$CUSTOMERHUB_KAFKA_IMAGE`` overrides the image) through
   testcontainers, when a Docker engine answers ``docker info``; it lives as long as this
   process;
3. Kafka 3.9 from Maven Central's jars, started with plain ``java`` by ``scripts/kafka.sh
   start``; it is left running for the next run, ``scripts/kafka.sh stop`` stops it.

When none of them gives a broker it raises RuntimeError saying why each failed; the caller
turns that into a test failure. The answer is computed once per process.
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

REPO = Path(__file__).resolve().parents[3]
KAFKA_SCRIPT = REPO / "scripts" / "kafka.sh"
DEFAULT_IMAGE = "confluentinc/cp-kafka:7.9.0"  # Apache Kafka 3.9

_lock = threading.Lock()
_servers: str | None = None
_container: Any = None  # the testcontainers KafkaContainer we started, if any


def kafka_bootstrap_servers() -> str:
    """``host:port`` of a live broker (see the module docstring for where it comes from)."""
    global _servers
    with _lock:
        if _servers is None:
            _servers = _provision()
        return _servers


def _provision() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if servers:
        return servers

    reasons: list[str] = []
    docker_problem = _docker_problem()
    if docker_problem is None:
        try:
            return _start_container()
        except Exception as error:  # any failure here falls through to the local broker
            reasons.append(f"Docker answers, but the Kafka container did not start: {error!r}")
    else:
        reasons.append(docker_problem)

    try:
        return _start_local_broker()
    except RuntimeError as error:
        reasons.append(str(error))

    raise RuntimeError(
        "no Kafka broker: KAFKA_BOOTSTRAP_SERVERS is unset, and\n- " + "\n- ".join(reasons)
    )


def _docker_problem() -> str | None:
    """None if a Docker engine answers and testcontainers' Kafka module imports, else why not."""
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
        from testcontainers.community.kafka import KafkaContainer  # noqa: F401
    except ImportError as error:
        return f"Docker answers, but testcontainers' Kafka module is missing: {error}"
    return None


def _start_container() -> str:
    global _container
    from testcontainers.community.kafka import KafkaContainer

    image = os.environ.get("CUSTOMERHUB_KAFKA_IMAGE", "").strip() or DEFAULT_IMAGE
    container = KafkaContainer(image).with_kraft()
    container.start()
    _container = container
    atexit.register(container.stop)
    return str(container.get_bootstrap_server())


def _start_local_broker() -> str:
    try:
        done = subprocess.run(
            ["bash", str(KAFKA_SCRIPT), "start"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,  # a first run on a fresh machine downloads Kafka's jars with Maven
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"could not run {KAFKA_SCRIPT} start: {error!r}") from error
    note_start("kafka", done.stderr)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or ":" not in lines[-1]:
        raise RuntimeError(
            f"{KAFKA_SCRIPT} start exited {done.returncode} without bootstrap servers"
            f"\n--- stdout ---\n{done.stdout[-2000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
        )
    return lines[-1]
