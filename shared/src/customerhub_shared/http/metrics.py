"""`GET /metrics` in Prometheus' text format: one registry per app, no global state.

Request durations are observed by a pure ASGI middleware, labelled by route template (never
the raw path, which carries ids). Appends are counted by the event store wrapper. What the
followers have covered is read at scrape time from their checkpoints (followers.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from customerhub_shared.eventstore import EventStore
from customerhub_shared.followers import Follower, follower_lag

log = structlog.get_logger(__name__)
# The route label of a request no route matched: raw paths would make a series per path.
UNMATCHED = "<unmatched>"
# Any other method a client sends is counted as OTHER, for the same reason.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# How long a scrape waits for one follower's checkpoint before leaving its series out.
LAG_READ_SECONDS = 2.0
DURATION_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Events parked per consumer name; a runtime that parks poison events sets
# `app.state.metrics.parked_counts` to its own (`customerhub_consumer_parked_events`).
ParkedCounts = Callable[[], Awaitable[Mapping[str, int]]]


async def nothing_parked() -> Mapping[str, int]:
    """The default until a consumer runtime that parks events says otherwise."""
    return {}


@dataclass
class AppMetrics:
    """An app's registry and the series its parts update; see `install_metrics`."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        ProcessCollector(registry=r)
        self.requests = Histogram(
            "customerhub_http_request_duration_seconds",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.appends = Counter(
            "customerhub_event_store_appends",
            "Appends to the event store by outcome (ok, conflict, error)",
            ["store", "outcome"],
            registry=r,
        )
        self.appended_events = Counter(
            "customerhub_event_store_appended_events",
            "Events appended to the event store",
            ["store"],
            registry=r,
        )
        self.head = Gauge(
            "customerhub_event_store_head_position", "The newest position of the log", registry=r
        )
        self.position = _consumer_gauge(r, "position", "The last log position a consumer covered")
        self.lag_events = _consumer_gauge(r, "lag_events", "Log positions a consumer is behind")
        self.lag_seconds = _consumer_gauge(
            r, "lag_seconds", "How long the oldest event a consumer has not covered has waited"
        )
        self.parked = _consumer_gauge(r, "parked_events", "Events a consumer parked as poison")
        self.followers: list[Follower] = []
        self.events: EventStore | None = None
        self.parked_counts: ParkedCounts = nothing_parked
        self.scraping = asyncio.Lock()
        self._collectors: dict[str, Collector] = {}

    def collect_from(self, name: str, collector: Collector) -> None:
        """Series a part of the app reads at scrape time (replacing an earlier one by name)."""
        if name in self._collectors:
            self.registry.unregister(self._collectors[name])
        self.registry.register(collector)
        self._collectors[name] = collector

    def follow(self, events: EventStore, followers: list[Follower]) -> None:
        """Report these followers of this log (called once the app's stores are open)."""
        self.events, self.followers = events, followers

    async def refresh(self) -> None:
        """Read the followers' positions and the head now, for the scrape under way."""
        for gauge in (self.position, self.lag_events, self.lag_seconds, self.parked):
            gauge.clear()
        if self.events is None:
            return
        try:
            head = await asyncio.wait_for(self.events.head_position(), LAG_READ_SECONDS)
        except Exception as error:  # the event store is away: `/health/ready` says so
            log.warning("metrics.head_unread", error=type(error).__name__)
            return
        now = datetime.now(UTC)
        self.head.set(head or 0)
        for follower in self.followers:
            try:
                lag = await asyncio.wait_for(
                    follower_lag(follower, self.events, head=head, now=now), LAG_READ_SECONDS
                )
            except Exception as error:  # its store is away: no series rather than a stale one
                log.warning(
                    "metrics.lag_unread", consumer=follower.name, error=type(error).__name__
                )
                continue
            self.position.labels(consumer=lag.name).set(lag.position or 0)
            self.lag_events.labels(consumer=lag.name).set(lag.events)
            self.lag_seconds.labels(consumer=lag.name).set(lag.seconds)
        parked = await self.parked_counts()
        for name in {follower.name for follower in self.followers} | set(parked):
            self.parked.labels(consumer=name).set(parked.get(name, 0))


def _consumer_gauge(registry: CollectorRegistry, name: str, description: str) -> Gauge:
    return Gauge(f"customerhub_consumer_{name}", description, ["consumer"], registry=registry)


class RequestMetricsMiddleware:
    """Observes each HTTP request's duration under its route template and status."""

    def __init__(self, app: ASGIApp, metrics: AppMetrics) -> None:
        self.app = app
        self.requests = metrics.requests
        # Label lookups cost more than the observation: keep each series' child at hand.
        self._series: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_observing_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observing_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            key = (method, route, status)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = self.requests.labels(
                    route=route, status=str(status), method=key[0]
                )
            series.observe(time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    metrics: AppMetrics = request.app.state.metrics
    async with metrics.scraping:  # one scrape's refresh never clears another's answer
        await metrics.refresh()
        body = generate_latest(metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI) -> AppMetrics:
    """The app's registry on `app.state.metrics`, its middleware and `GET /metrics`."""
    app.state.metrics = metrics = AppMetrics()
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    return metrics
