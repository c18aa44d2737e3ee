"""Issue 15's contacts and customers: portal access, supplier numbers, the creator's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from customerhub.app import create_app
from customerhub_shared.http.auth import mint_token
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, SECRET, USER, new_customer


async def read(client: httpx.AsyncClient, customer_id: str, position: int) -> dict[str, Any]:
    headers = {**USER, "X-Min-Position": str(position)}
    response = await client.get(f"/v1/customers/{customer_id}", headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_portal_access_records_when_it_was_granted_and_clears_when_revoked(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = (await create("Boulangerie Martin"))["id"]
    url = f"/v1/customers/{customer}/contacts"
    before = datetime.now(UTC) - timedelta(seconds=1)
    added = await client.post(url, json={"name": "Claire", "portal_access": True}, headers=USER)
    assert added.status_code == 201, added.text
    other = await client.post(url, json={"name": "Paul"}, headers=USER)
    [claire, paul] = (await read(client, customer, other.json()["position"]))["contacts"]
    assert claire["portal_access"] is True
    invited = datetime.fromisoformat(claire["portal_invited_at"])
    assert before <= invited <= datetime.now(UTC)
    assert paul["portal_access"] is False and paul["portal_invited_at"] is None

    contact_url = f"{url}/{claire['contact_id']}"
    revoked = await client.patch(contact_url, json={"portal_access": False}, headers=USER)
    assert revoked.status_code == 200, revoked.text
    [claire, _] = (await read(client, customer, revoked.json()["position"]))["contacts"]
    assert claire["portal_access"] is False and claire["portal_invited_at"] is None
    refused = await client.patch(contact_url, json={"portal_access": None}, headers=USER)
    assert refused.status_code == 422


async def test_suppliers_number_from_their_own_range(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create("Boulangerie Martin", roles=["customer"])
    supplier = await create("Moulin Dupont", roles=["supplier"])
    both = await create("Garage Martinez", roles=["customer", "supplier"])
    assert customer["customer_number"] == "C10001"
    assert supplier["customer_number"] == "S70001"
    assert both["customer_number"] == "C10002"


async def test_a_customer_speaks_the_creators_language_unless_the_body_says(
    client: httpx.AsyncClient,
) -> None:
    french = {
        "Authorization": "Bearer "
        + mint_token(SECRET, sub="marie", roles=["admin"], locale="fr-FR")
    }
    body = new_customer("Boulangerie Martin")
    del body["language"]
    by_marie = await client.post("/v1/customers", json=body, headers=french)
    told = await client.post(
        "/v1/customers", json={**new_customer("Garage Martinez"), "language": "de"}, headers=french
    )
    by_alice = await client.post(
        "/v1/customers", json={**body, "name": "Ferme Dubois"}, headers=ADMIN
    )
    languages = [
        (await read(client, answer.json()["id"], answer.json()["position"]))["language"]
        for answer in (by_marie, told, by_alice)
    ]
    assert languages == ["fr", "de", "en"]


async def test_without_a_locale_claim_the_default_language_setting_applies(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path, jwt_secret=SECRET, log_level="WARNING", default_language="de"
    )
    application = create_app(settings)
    body = new_customer("Bäckerei Müller")
    del body["language"]
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            created = await client.post("/v1/customers", json=body, headers=ADMIN)
            assert created.status_code == 201, created.text
            answer = await read(client, created.json()["id"], created.json()["position"])
    assert answer["language"] == "de"


async def test_duplicate_warnings_switched_off_leave_the_create_answer_without_them(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path, jwt_secret=SECRET, log_level="WARNING", duplicate_warnings=False
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            first = await client.post("/v1/customers", json=new_customer("A"), headers=ADMIN)
            second = await client.post("/v1/customers", json=new_customer("B"), headers=ADMIN)
    assert first.status_code == second.status_code == 201, second.text
    assert "possible_duplicates" not in second.json()


async def test_a_name_of_signs_only_is_created_with_nothing_to_compare_it_with(
    create: Callable[..., Any],
) -> None:
    """'×' has no letter to compare; with no email nor phone either, no duplicate is looked for."""
    answer = await create("×", email=None, phone=None)
    assert answer["possible_duplicates"] == [] and answer["version"] == 1
