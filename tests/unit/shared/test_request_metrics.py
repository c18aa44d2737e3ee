"""An app's metrics: request durations by route template and status, one registry per app,
parked events from the hook a parking runtime sets."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from customerhub_shared.followers import Follower
from customerhub_shared.http.metrics import AppMetrics, install_metrics
from tests.unit.equipment.fakes import InMemoryEventStore

COUNT = "customerhub_http_request_duration_seconds_count"


def app_with_routes() -> FastAPI:
    app = FastAPI()

    async def order(order_id: int) -> dict[str, int]:
        return {"order": order_id}

    async def broken(part: str) -> None:
        raise RuntimeError(part)

    app.add_api_route("/orders/{order_id}", order)
    app.add_api_route("/broken/{part}", broken)
    install_metrics(app)
    return app


def count(app: FastAPI, **labels: str) -> float | None:
    metrics: AppMetrics = app.state.metrics
    return metrics.registry.get_sample_value(COUNT, labels)


async def test_requests_are_timed_under_their_route_template_and_status() -> None:
    app = app_with_routes()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for order_id in (17, 18):
            assert (await client.get(f"/orders/{order_id}")).status_code == 200
        assert (await client.get("/orders/not-a-number")).status_code == 422
        assert (await client.get("/broken/gear")).status_code == 500
        assert (await client.get("/nowhere/42")).status_code == 404
        assert (await client.request("BREW", "/orders/3")).status_code == 405

    assert count(app, method="GET", route="/orders/{order_id}", status="200") == 2
    assert count(app, method="GET", route="/orders/{order_id}", status="422") == 1
    assert count(app, method="GET", route="/broken/{part}", status="500") == 1
    assert count(app, method="GET", route="<unmatched>", status="404") == 1
    assert count(app, method="GET", route="/orders/17", status="200") is None
    assert count(app, method="OTHER", route="/orders/{order_id}", status="405") == 1


async def test_each_app_counts_in_a_registry_of_its_own() -> None:
    first, second = app_with_routes(), app_with_routes()
    transport = httpx.ASGITransport(app=first)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/orders/1")).status_code == 200
    assert count(first, method="GET", route="/orders/{order_id}", status="200") == 1
    assert count(second, method="GET", route="/orders/{order_id}", status="200") is None


async def test_parked_events_come_from_the_hook_a_parking_runtime_sets() -> None:
    app = app_with_routes()
    metrics: AppMetrics = app.state.metrics
    store = InMemoryEventStore()
    metrics.follow(store, [Follower("customers", nowhere), Follower("equipment", nowhere)])

    async def parked() -> dict[str, int]:
        return {"customers": 2, "notifications": 1}

    await metrics.refresh()
    assert parked_events(metrics) == {"customers": 0, "equipment": 0}
    metrics.parked_counts = parked
    await metrics.refresh()
    assert parked_events(metrics) == {"customers": 2, "equipment": 0, "notifications": 1}


async def nowhere() -> int | None:
    return None


def parked_events(metrics: AppMetrics) -> dict[str, float]:
    return {
        sample.labels["consumer"]: sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "customerhub_consumer_parked_events"
    }
