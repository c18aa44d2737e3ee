"""`GET /health/live` (the process answers) and `GET /health/ready` (its dependencies answer and
no follower of the log is further behind than the settings allow; the body says which check
failed). `GET /health` stays as the liveness answer it always was."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from customerhub_shared.checkpoints import CheckpointStore
from customerhub_shared.eventstore import EventStore
from customerhub_shared.followers import Follower, FollowerLag, follower_lag
from customerhub_shared.infrastructure import Infrastructure
from customerhub_shared.readstore import ReadStore
from customerhub_shared.settings import Settings

log = structlog.get_logger(__name__)
Check = Callable[[], Awaitable[object]]
# A name no checkpoint is saved under: reading it proves the store answers, and finds nothing.
PROBE = "customerhub.health-probe"


async def live() -> dict[str, str]:
    return {"status": "ok"}


@dataclass
class Readiness:
    """What `/health/ready` checks: the dependencies' answers, then each follower's lag."""

    events: EventStore
    checks: dict[str, Check]
    followers: Sequence[Follower]
    settings: Settings

    async def report(self) -> tuple[bool, dict[str, Any]]:
        outcomes = await asyncio.gather(*(self._outcome(n, c) for n, c in self.checks.items()))
        checks = dict(zip(self.checks, outcomes, strict=True))
        consumers: dict[str, Any] = {}
        if checks.get("event_store") == "ok":
            consumers = await self._consumers()
        ready = all(outcome == "ok" for outcome in checks.values()) and all(
            consumer["status"] == "ok" or not consumer["gates_readiness"]
            for consumer in consumers.values()
        )
        body = {"status": "ready" if ready else "unready", "checks": checks, "consumers": consumers}
        return ready, body

    async def _outcome(self, name: str, check: Check) -> str:
        try:
            await asyncio.wait_for(check(), self.settings.ready_check_timeout_seconds)
        except TimeoutError:
            log.warning("health.check_timed_out", check=name)
            return "timed out"
        except Exception as error:  # whatever the driver raises, the dependency is not usable
            log.warning("health.check_failed", check=name, error=type(error).__name__)
            return f"unreachable ({type(error).__name__})"
        return "ok"

    async def _consumers(self) -> dict[str, Any]:
        head, now = await self.events.head_position(), datetime.now(UTC)
        timeout = self.settings.ready_check_timeout_seconds
        consumers: dict[str, Any] = {}
        for follower in self.followers:
            try:
                lag = await asyncio.wait_for(
                    follower_lag(follower, self.events, head=head, now=now), timeout
                )
            except Exception as error:  # its checkpoint's store is down: its check says so
                consumers[follower.name] = {
                    "status": f"unreadable ({type(error).__name__})",
                    "gates_readiness": follower.gates_readiness,
                }
                continue
            consumers[follower.name] = _judged(lag, self.settings, follower.gates_readiness)
        return consumers


def _judged(lag: FollowerLag, settings: Settings, gates_readiness: bool) -> dict[str, Any]:
    behind = (
        0 < settings.ready_max_lag_events < lag.events
        or 0 < settings.ready_max_lag_seconds < lag.seconds
    )
    return {
        "status": "behind" if behind else "ok",
        "position": lag.position,
        "lag_events": lag.events,
        "lag_seconds": round(lag.seconds, 3),
        "gates_readiness": gates_readiness,
    }


async def ready(request: Request) -> JSONResponse:
    readiness: Readiness | None = getattr(request.app.state, "readiness", None)
    if readiness is None:
        return JSONResponse({"status": "starting", "checks": {}, "consumers": {}}, 503)
    is_ready, body = await readiness.report()
    return JSONResponse(body, 200 if is_ready else 503)


def install_health(app: FastAPI) -> None:
    app.add_api_route("/health", live, include_in_schema=False)
    app.add_api_route("/health/live", live, include_in_schema=False)
    app.add_api_route("/health/ready", ready, include_in_schema=False)


def observe(
    app: FastAPI,
    infra: Infrastructure,
    settings: Settings,
    *,
    read_store: ReadStore | None = None,
    checkpoints: CheckpointStore | None = None,
    followers: Sequence[Follower] = (),
) -> None:
    """Tell `/health/ready` and `/metrics` what this app depends on and which followers of
    the log it answers for (called from the lifespan, once the stores are open)."""
    checks = dependency_checks(infra, settings, read_store=read_store, checkpoints=checkpoints)
    app.state.readiness = Readiness(infra.event_store, checks, list(followers), settings)
    app.state.metrics.follow(infra.event_store, list(followers))


def dependency_checks(
    infra: Infrastructure,
    settings: Settings,
    *,
    read_store: ReadStore | None,
    checkpoints: CheckpointStore | None,
) -> dict[str, Check]:
    checks: dict[str, Check] = {
        "event_store": infra.event_store.head_position,
        "keyring": lambda: infra.keyring.key_for(uuid.UUID(int=0)),
    }
    if read_store is not None:
        checks["read_store"] = lambda: read_store.checkpoint(PROBE)
    if checkpoints is not None:
        checks["checkpoints"] = lambda: checkpoints.get(PROBE)
    if settings.kafka_bootstrap_servers:
        checks["kafka"] = partial(kafka_answers, settings.kafka_bootstrap_servers)
    return checks


async def kafka_answers(bootstrap_servers: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id=PROBE)
    try:
        await admin.start()
    finally:
        await admin.close()
