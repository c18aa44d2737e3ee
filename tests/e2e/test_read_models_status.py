"""`GET /v1/admin/read-models`: each read model's active generation and position, and the
rebuild `customerhub replay` has in progress, as the replay itself records them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from customer_query.domain.view import CustomerView
from customerhub_shared.events import default_registry
from customerhub_shared.infrastructure import open_infrastructure
from customerhub_shared.mapper import EventMapper
from customerhub_shared.replay import replay
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, USER

ROUTE = "/v1/admin/read-models"


async def states(client: httpx.AsyncClient) -> tuple[int, dict[str, dict[str, Any]]]:
    answer = await client.get(ROUTE, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["head"], {model["name"]: model for model in body["read_models"]}


async def caught_up(client: httpx.AsyncClient, position: int) -> None:
    headers = {**ADMIN, "X-Min-Position": str(position)}
    assert (await client.get("/v1/customers", headers=headers)).status_code == 200


async def test_each_read_model_shows_its_generation_and_position_and_no_rebuild(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    created = await create()
    await caught_up(client, created["position"])

    head, models = await states(client)

    assert set(models) == {"customers", "equipment"}
    customers = models["customers"]
    assert head >= created["position"]
    assert customers["active"]["generation"] == 1
    assert customers["active"]["position"] >= created["position"]
    assert customers["active"]["behind"] == head - customers["active"]["position"]
    assert customers["rebuilding"] is None


async def test_a_rebuild_in_progress_shows_with_how_far_it_got_then_its_switch(
    app: FastAPI, client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    for name in ("Boulangerie Martin", "Garage Dupont", "Pharmacie Leroy"):
        created = await create(name)
    await caught_up(client, created["position"])
    store = app.state.customer_query.read_store
    # What a replay records as it starts, and leaves behind when it is interrupted.
    await store.set_generations(CustomerView.name, 1, 2)

    head, models = await states(client)
    rebuilding = models["customers"]["rebuilding"]
    assert rebuilding == {"generation": 2, "position": None, "behind": head, "progress": 0.0}
    assert models["customers"]["active"]["generation"] == 1

    infra = await open_infrastructure(settings)
    try:
        outcome = await replay(
            CustomerView(),
            events=infra.event_store,
            store=store,
            mapper=EventMapper(default_registry()),
            keyring=infra.keyring,
        )
    finally:
        await infra.close()
    assert outcome.resumed and outcome.generation == 2

    head, models = await states(client)
    assert models["customers"]["rebuilding"] is None
    assert models["customers"]["active"] == {
        "generation": 2,
        "position": head,
        "behind": 0,
        "progress": 1.0,
    }


async def test_only_an_admin_sees_the_replay_state(client: httpx.AsyncClient) -> None:
    refused = await client.get(ROUTE, headers=USER)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    anonymous = await client.get(ROUTE)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
