"""The equipment list: every registered item, found by search or business unit, its owner by
name, and each item's page one click away."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from customerhub_shared.http.auth import mint_token
from tests.browser.conftest import SECRET, Console, unique


def api(console: Console, method: str, path: str, **body: Any) -> dict[str, Any]:
    token = mint_token(SECRET, sub="alice", roles=["admin"])
    answer = httpx.request(
        method, console.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code in (200, 201), answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_registered_items_are_listed_found_by_search_and_business_unit_and_opened(
    console: Console,
) -> None:
    console.sign_in()
    customer = unique("Froid Bernard")
    customer_id = console.create_customer(customer).rsplit("/", 1)[-1]
    unit = unique("Nord")
    boiler, pump = unique("Chaudière"), unique("Pompe")
    kept = api(
        console,
        "POST",
        "/v1/equipment",
        name=boiler,
        type="boiler",
        brand="Viessmann",
        model="Vitodens 200",
        serial_number="VX-1",
        business_unit=unit,
    )
    api(console, "POST", "/v1/equipment", name=pump, serial_number="PX-2", business_unit=unit)
    given = api(
        console, "POST", f"/v1/customers/{customer_id}/equipment", equipment_ids=[kept["id"]]
    )

    console.page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Equipment", exact=True
    ).click()
    expect(console.page.get_by_role("heading", name="Equipment", exact=True)).to_be_visible()
    console.open(f"/console/equipment?seen={given['position']}")  # the assignment, read back
    console.page.get_by_label("Business unit").fill(unit)
    console.page.get_by_label("Business unit").press("Enter")
    rows = console.page.get_by_role("row")
    expect(rows.filter(has_text=boiler)).to_contain_text("Viessmann Vitodens 200")
    expect(
        rows.filter(has_text=boiler).get_by_role("cell", name="Boiler", exact=True)
    ).to_be_visible()
    owner = rows.filter(has_text=boiler).get_by_role("link", name=customer, exact=True)
    expect(owner).to_have_attribute("href", f"/console/customers/{customer_id}?tab=equipment")
    expect(rows.filter(has_text=pump)).to_contain_text("No owner")
    expect(console.page.get_by_role("link", name="Register equipment")).to_have_count(2)
    console.screen("equipment-list")

    console.page.get_by_label("Search (name, reference, serial)").fill(pump.split()[-1])
    expect(rows.filter(has_text=boiler)).to_have_count(0)
    expect(rows.filter(has_text=pump)).to_contain_text(unit)

    console.page.get_by_label("Search (name, reference, serial)").fill("")
    console.page.get_by_role("button", name="Filter").click()
    rows.filter(has_text=boiler).get_by_role("link", name="only this owner's").click()
    expect(console.page.get_by_text(f"Items owned by {customer}.")).to_be_visible()
    expect(rows.filter(has_text=pump)).to_have_count(0)
    console.screen("equipment-list-owner")
    console.page.get_by_role("link", name=boiler).focus()
    console.page.keyboard.press("Enter")
    expect(console.page.get_by_role("heading", name=boiler)).to_be_visible()
