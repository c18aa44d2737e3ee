"""The rest of the day's work in the console: equipment, the en-route SMS, merging, mass
actions, importing, and the operations screen."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import expect

from customerhub_shared.http.auth import mint_token
from tests.browser.conftest import SECRET, Console, unique


def register_equipment(console: Console, name: str) -> str:
    """Set up through the API (the registry's own screens: test_console_records.py)."""
    token = mint_token(SECRET, sub="setup", roles=["admin"])
    answer = httpx.post(
        console.url + "/v1/equipment",
        json={"name": name, "type": "heat pump", "serial_number": uuid.uuid4().hex[:10]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.text
    equipment_id: str = answer.json()["id"]
    return equipment_id


def assign_by_search(console: Console, page: str, item: str) -> None:
    console.open(page + "?tab=equipment")
    console.page.get_by_label("Find equipment to assign").fill(item)
    console.page.get_by_role("button", name="Search", exact=True).click()
    console.page.get_by_label(re.compile(item)).check()
    console.page.get_by_role("button", name="Assign the selected items").click()


def test_equipment_is_assigned_by_search_and_transferred_after_a_confirmation(
    console: Console,
) -> None:
    console.sign_in()
    item = unique("Pompe")
    register_equipment(console, item)
    first = console.create_customer(unique("Premier"))
    assign_by_search(console, first, item)
    expect(console.page.get_by_role("cell", name=item)).to_be_visible()

    second = console.create_customer(unique("Second"))
    assign_by_search(console, second, item)
    expect(console.page.get_by_text("Another customer owns some of these items")).to_be_visible()
    console.screen("customer-equipment-transfer")
    console.page.get_by_label("Yes, transfer them to this customer").check()
    console.page.get_by_role("button", name="Transfer").click()
    expect(console.page.get_by_role("cell", name=item)).to_be_visible()
    expect(console.page.get_by_role("listitem").filter(has_text="→")).to_have_count(2)
    console.screen("customer-equipment")

    console.open(second + "/confirm/delete")
    console.page.get_by_role("button", name="Yes, Delete").click()
    expect(console.page.get_by_role("alert")).to_contain_text("Refused")
    expect(console.page.get_by_role("alert")).to_contain_text("equipment")
    console.screen("confirm-delete-refused")


def test_the_technician_en_route_sms_goes_out_and_the_log_shows_it(console: Console) -> None:
    console.sign_in()
    page = console.create_customer(unique("Chauffage Bernard"))
    console.open(page + "?tab=contacts")
    console.page.get_by_label("Name", exact=True).fill("Paul Bernard")
    console.page.get_by_label("Phone", exact=True).fill("+33 6 11 22 33 44")
    console.page.get_by_label("Notify by SMS").check()
    console.page.get_by_role("button", name="Add the contact").click()
    expect(console.page.get_by_role("cell", name="Paul Bernard")).to_be_visible()

    console.open(page + "?tab=notifications")
    console.page.get_by_label("Technician").fill("Marc")
    console.page.get_by_label("Expected arrival").fill("14:30")
    console.page.get_by_role("button", name="Send").click()
    row = console.page.get_by_role("row").filter(has_text="technician_en_route")
    expect(row.filter(has_text="SMS")).to_have_count(1)
    expect(row.filter(has_text="sent")).to_have_count(1, timeout=20_000)
    console.screen("customer-notifications")
    console.open(page + "?tab=activity")
    expect(console.page.get_by_text("Notification sent").first).to_be_visible()
    console.screen("customer-activity")


def test_the_merge_assistant_keeps_the_chosen_record_and_the_duplicate_redirects(
    console: Console,
) -> None:
    console.sign_in()
    word = uuid.uuid4().hex[:6]
    survivor = console.create_customer(f"Fusion Alpha {word}")
    duplicate = console.create_customer(f"Fusion Beta {word}")
    console.open(survivor + "/merge")
    console.page.get_by_label("Find the duplicate").fill(f"fusion {word}")
    console.page.get_by_role("button", name="Search", exact=True).click()
    console.page.get_by_role("link", name=re.compile(f"Fusion Beta {word}")).click()
    compared = console.page.get_by_role("table", name="The two records, field by field")
    expect(compared).to_be_visible()
    console.screen("merge")
    console.page.get_by_role("button", name="Merge", exact=True).click()
    expect(console.page.get_by_role("heading", name=f"Fusion Alpha {word}")).to_be_visible()

    console.open(duplicate)
    expect(console.page.get_by_text("was merged into this one")).to_be_visible()
    assert console.page.url.startswith(console.url + survivor)


def test_a_mass_action_labels_the_selected_customers(console: Console) -> None:
    console.sign_in()
    word = uuid.uuid4().hex[:6]
    names = [f"Lot {word} Un", f"Lot {word} Deux"]
    for name in names:
        console.create_customer(name)
    console.open(f"/console/customers?q={word}")
    for name in names:
        console.page.get_by_label(f"Select {name}").check()
    console.page.get_by_label("Action", exact=True).select_option("add-label")
    console.page.get_by_label("Label or employee").fill(f"campagne-{word}")
    console.page.get_by_role("button", name="Apply to the selection").click()
    expect(console.page.get_by_role("status")).to_contain_text("Done for 2 customers")
    console.page.get_by_label("Label", exact=True).fill(f"campagne-{word}")
    console.page.get_by_role("button", name="Filter").click()
    expect(console.page.get_by_role("link", name=re.compile(f"Lot {word}"))).to_have_count(2)
    console.screen("customers-labelled")


def test_a_small_csv_is_dry_run_then_imported(console: Console, tmp_path: Path) -> None:
    console.sign_in()
    word = uuid.uuid4().hex[:6]
    sheet = tmp_path / "clients.csv"
    sheet.write_text(
        "name;email;city;country\n"
        f"Import {word} Un;un-{word}@example.com;Lyon;FR\n"
        f"Import {word} Deux;not-an-email;Lyon;FR\n"
    )
    console.open("/console/imports")
    console.page.get_by_label("CSV or Excel file").set_input_files(str(sheet))
    console.page.get_by_role("button", name="Upload").click()
    expect(console.page.get_by_role("status")).to_contain_text("completed", timeout=20_000)
    expect(console.page.get_by_text("dry run: nothing was changed")).to_be_visible()
    expect(console.page.get_by_role("table", name="Rows with problems")).to_contain_text("email")
    console.screen("import-dry-run")

    console.page.get_by_label("CSV or Excel file").set_input_files(str(sheet))
    console.page.get_by_label("Dry run").uncheck()
    console.page.get_by_role("button", name="Upload").click()
    expect(console.page.get_by_role("status")).to_contain_text("completed", timeout=20_000)
    console.open(f"/console/customers?q=import {word}")
    expect(console.page.get_by_role("link", name=f"Import {word} Un")).to_be_visible()


def test_operations_show_each_consumer_s_lag_and_the_parked_events(console: Console) -> None:
    console.sign_in()
    console.open("/console/operations")
    consumers = console.page.get_by_role("table", name=re.compile("Consumers of the event log"))
    expect(consumers.get_by_role("row")).not_to_have_count(1)
    expect(console.page.get_by_text("No parked event.")).to_be_visible()
    console.screen("operations")


def test_saving_over_someone_else_s_change_says_so_instead_of_overwriting(
    console: Console,
) -> None:
    console.sign_in()
    page = console.create_customer(unique("Concurrent"))
    console.open(page + "/edit")
    token = mint_token(SECRET, sub="someone-else", roles=["admin"])
    meanwhile = httpx.patch(
        console.url + page.replace("/console", "/v1"),
        json={"note": "changed meanwhile"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert meanwhile.status_code == 200, meanwhile.text
    console.page.get_by_label("Internal name").fill("Mine")
    console.page.get_by_role("button", name="Save").click()
    expect(console.page.get_by_role("alert")).to_contain_text("changed this customer meanwhile")
    expect(console.page.get_by_label("Internal name")).to_have_value("Mine")  # kept, not lost
    expect(console.page.get_by_label("Note", exact=True)).to_have_value("changed meanwhile")
    console.page.get_by_role("button", name="Save").click()
    expect(console.page.get_by_role("definition").filter(has_text="Mine")).to_be_visible()
    expect(
        console.page.get_by_role("definition").filter(has_text="changed meanwhile")
    ).to_be_visible()


def test_sending_to_a_customer_nobody_opted_in_for_says_why_nothing_went(
    console: Console,
) -> None:
    console.sign_in()
    page = console.create_customer(unique("Sans contact"))
    console.open(page + "?tab=notifications")
    console.page.get_by_label("Technician").fill("Marc")
    console.page.get_by_label("Expected arrival").fill("15:00")
    console.page.get_by_role("button", name="Send").click()
    expect(console.page.get_by_role("alert")).not_to_be_empty()
    expect(console.page.get_by_text("Nothing sent yet.")).to_be_visible()


def test_a_prospect_is_converted_once_after_a_confirmation(console: Console) -> None:
    console.sign_in()
    name = unique("Prospect")
    console.open("/console/customers/new")
    console.page.get_by_label("Customer", exact=True).uncheck()
    console.page.get_by_label("Prospect", exact=True).check()
    console.page.get_by_label("Name", exact=True).fill(name)
    console.page.get_by_label("City", exact=True).fill("Nantes")
    console.page.get_by_role("button", name="Save").click()
    expect(console.page.get_by_text("Roles: Prospect")).to_be_visible()
    console.page.get_by_role("link", name="Convert to customer").click()
    expect(console.page.get_by_text("cannot be undone")).to_be_visible()
    console.page.get_by_role("button", name="Yes, Convert to customer").click()
    expect(console.page.get_by_text("Roles: Customer")).to_be_visible()
    expect(console.page.get_by_role("link", name="Convert to customer")).to_have_count(0)


def test_a_head_office_and_its_branch_are_related_on_both_pages(console: Console) -> None:
    console.sign_in()
    word = uuid.uuid4().hex[:6]
    office = console.create_customer(f"Siège {word}")
    console.create_customer(f"Magasin {word}")
    console.open(office)
    console.page.get_by_label("Find a customer to relate").fill(f"magasin {word}")
    console.page.get_by_role("button", name="Search", exact=True).click()
    console.page.get_by_label(f"Towards Magasin {word}").select_option("parent")
    console.page.get_by_role("button", name="Relate").click()
    related = console.page.get_by_role("listitem").filter(has_text=f"Magasin {word}")
    expect(related).to_contain_text("this customer is its head office")
    console.screen("customer-relations")
    related.get_by_role("link").click()
    branch = console.page.get_by_role("listitem").filter(has_text=f"Siège {word}")
    expect(branch).to_contain_text("this customer is its branch")
