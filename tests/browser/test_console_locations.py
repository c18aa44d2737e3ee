"""Editing a location on the customer's locations tab: only what changed is sent, a refusal is
said beside its field, and a change or removal made meanwhile is said plainly."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from tests.browser.conftest import Console, unique
from tests.browser.test_console_records import meanwhile


def tab_to_location_edit(console: Console, presses: int = 80) -> None:
    """Move the keyboard focus forward until it is on a location's "Edit" link."""
    for _ in range(presses):
        console.page.keyboard.press("Tab")
        if console.page.evaluate("(document.activeElement.href || '').includes('edit_location')"):
            return
    raise AssertionError("no location's Edit link is reached with the keyboard")


def location_row(console: Console, text: str) -> Locator:
    return console.page.get_by_role("row").filter(has_text=text)


def test_a_location_s_street_is_edited_with_the_refusal_beside_the_field(console: Console) -> None:
    console.sign_in()
    page = console.create_customer(unique("Chaufferie Blanc"))
    console.open(page + "?tab=locations")
    tab_to_location_edit(console)
    console.page.keyboard.press("Enter")
    form = console.page.get_by_role("form", name="Edit the location 12 rue de la Paix")
    expect(form.get_by_label("City", exact=True)).to_have_value("Paris")

    form.get_by_label("Latitude").fill("95")
    form.get_by_label("Longitude").fill("2.33")
    form.get_by_label("Address", exact=True).fill("8 rue Rambuteau")
    form.get_by_role("button", name="Save the location").click()
    latitude = form.get_by_label("Latitude")
    expect(latitude).to_have_attribute("aria-invalid", "true")
    expect(console.page.locator("#e-latitude")).to_contain_text("latitude must be between")
    expect(form.get_by_label("Address", exact=True)).to_have_value("8 rue Rambuteau")
    expect(console.page.get_by_role("alert")).to_have_text("Correct the fields marked below.")
    console.screen("location-edit-error")

    latitude.fill("48.86")
    form.get_by_label("Postal code").fill("75003")
    form.get_by_role("button", name="Save the location").click()
    row = location_row(console, "8 rue Rambuteau")
    expect(row).to_contain_text("75003")
    expect(row).to_contain_text("48.86, 2.33")
    expect(row).to_contain_text("Paris")  # what was not touched stays
    expect(console.page.get_by_role("cell", name="12 rue de la Paix")).to_have_count(0)
    console.screen("customer-locations-edited")


def test_a_location_edit_over_someone_else_s_change_says_so_and_keeps_what_was_typed(
    console: Console,
) -> None:
    console.sign_in()
    page = console.create_customer(unique("Ventilation Petit"))
    console.open(page + "?tab=locations")
    location_row(console, "12 rue de la Paix").get_by_role("link", name="Edit").click()
    form = console.page.get_by_role("form", name="Edit the location 12 rue de la Paix")
    meanwhile(console, "PATCH", page, note="changed meanwhile")
    form.get_by_label("Location name").fill("Atelier")
    form.get_by_role("button", name="Save the location").click()

    expect(console.page.get_by_role("alert")).to_contain_text("changed this customer meanwhile")
    expect(form.get_by_label("Location name")).to_have_value("Atelier")
    console.screen("location-edit-conflict")
    form.get_by_role("button", name="Save the location").click()
    expect(location_row(console, "12 rue de la Paix")).to_contain_text("Atelier")


def test_saving_a_location_someone_removed_meanwhile_says_it_is_gone(console: Console) -> None:
    console.sign_in()
    page = console.create_customer(unique("Froid Garnier"))
    console.open(page + "?tab=locations")
    console.page.get_by_label("Address", exact=True).fill("3 quai Voltaire")
    console.page.get_by_label("City", exact=True).fill("Lyon")
    console.page.get_by_role("button", name="Add the location").click()
    edit = location_row(console, "3 quai Voltaire").get_by_role("link", name="Edit")
    location_id = str(edit.get_attribute("href")).split("edit_location=")[1].split("#")[0]
    edit.click()
    meanwhile(console, "DELETE", f"{page}/locations/{location_id}")
    form = console.page.get_by_role("form", name="Edit the location 3 quai Voltaire")
    form.get_by_label("Postal code").fill("69002")
    form.get_by_role("button", name="Save the location").click()
    expect(console.page.get_by_role("alert")).to_contain_text("removed this location meanwhile")
    expect(console.page.get_by_role("cell", name="3 quai Voltaire")).to_have_count(0)
    expect(console.page.get_by_role("button", name="Add the location")).to_be_visible()
