"""Changing what was entered before: a contact's name, addresses and opt-ins on the contacts
tab, and the equipment registry (register an item, assign it to the customer it was registered
for, edit it)."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Locator, expect

from customerhub_shared.http.auth import mint_token
from tests.browser.conftest import SECRET, Console, unique


def meanwhile(console: Console, method: str, path: str, **body: object) -> None:
    """Someone else changes the customer while this person's form is open."""
    token = mint_token(SECRET, sub="someone-else", roles=["admin"])
    answer = httpx.request(
        method,
        console.url + path.replace("/console", "/v1"),
        json=body or None,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text


def add_contact(
    console: Console, page: str, name: str, typed: dict[str, str] | None = None, *checked: str
) -> None:
    """`typed`: other fields by their label; `checked`: the check boxes to tick."""
    console.open(page + "?tab=contacts")
    for label, value in {"Name": name, **(typed or {})}.items():
        console.page.get_by_label(label, exact=True).fill(value)
    for label in checked:
        console.page.get_by_label(label).check()
    console.page.get_by_role("button", name="Add the contact").click()
    expect(console.page.get_by_role("cell", name=name, exact=True)).to_be_visible()


def tab_to_contact_edit(console: Console, presses: int = 80) -> None:
    """Move the keyboard focus forward until it is on a contact's "Edit" link."""
    for _ in range(presses):
        console.page.keyboard.press("Tab")
        if console.page.evaluate("(document.activeElement.href || '').includes('edit_contact')"):
            return
    raise AssertionError("no contact's Edit link is reached with the keyboard")


def contact_edit_link(console: Console, name: str) -> Locator:
    return console.page.get_by_role("row").filter(has_text=name).get_by_role("link", name="Edit")


def test_a_contact_s_name_and_addresses_are_edited_with_the_refusal_beside_the_field(
    console: Console,
) -> None:
    console.sign_in()
    page = console.create_customer(unique("Thermique Martin"))
    add_contact(console, page, "Claire Martin", {"Email": "claire@martin.example"})

    tab_to_contact_edit(console)
    console.page.keyboard.press("Enter")
    form = console.page.get_by_role("form", name="Edit the contact Claire Martin")
    expect(form.get_by_label("Email", exact=True)).to_have_value("claire@martin.example")
    form.get_by_label("Phone", exact=True).fill("12")
    form.get_by_role("button", name="Save the contact").click()
    phone = form.get_by_label("Phone", exact=True)
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(console.page.locator("#e-phone")).to_contain_text("valid international number")
    expect(phone).to_have_value("12")  # what was typed stays, to be corrected
    expect(console.page.get_by_role("alert")).to_have_text("Correct the fields marked below.")
    console.screen("contact-edit-error")

    form.get_by_label("Name", exact=True).fill("Claire Dubois")
    phone.fill("+33 6 12 34 56 78")
    form.get_by_label("Notify by SMS").check()
    form.get_by_role("button", name="Save the contact").click()
    row = console.page.get_by_role("row").filter(has_text="Claire Dubois")
    expect(row).to_contain_text("+33612345678")
    expect(row).to_contain_text("SMS")
    expect(console.page.get_by_role("cell", name="Claire Martin")).to_have_count(0)
    console.screen("customer-contacts-edited")


def test_a_contact_edit_over_someone_else_s_change_says_so_and_keeps_what_was_typed(
    console: Console,
) -> None:
    console.sign_in()
    page = console.create_customer(unique("Froid Dupuis"))
    add_contact(console, page, "Marc Dupuis")
    contact_edit_link(console, "Marc Dupuis").click()
    form = console.page.get_by_role("form", name="Edit the contact Marc Dupuis")
    meanwhile(console, "PATCH", page, note="changed meanwhile")
    form.get_by_label("Email", exact=True).fill("marc@dupuis.example")
    form.get_by_role("button", name="Save the contact").click()

    expect(console.page.get_by_role("alert")).to_contain_text("changed this customer meanwhile")
    expect(form.get_by_label("Email", exact=True)).to_have_value("marc@dupuis.example")
    console.screen("contact-edit-conflict")
    form.get_by_role("button", name="Save the contact").click()
    row = console.page.get_by_role("row").filter(has_text="Marc Dupuis")
    expect(row).to_contain_text("marc@dupuis.example")


def test_saving_a_contact_someone_removed_meanwhile_says_it_is_gone(console: Console) -> None:
    console.sign_in()
    page = console.create_customer(unique("Clim Roux"))
    add_contact(console, page, "Léa Roux")  # the first contact is the main one
    add_contact(console, page, "Hugo Roux")
    edit = contact_edit_link(console, "Hugo Roux")
    contact_id = str(edit.get_attribute("href")).split("edit_contact=")[1].split("#")[0]
    edit.click()
    meanwhile(console, "DELETE", f"{page}/contacts/{contact_id}")
    form = console.page.get_by_role("form", name="Edit the contact Hugo Roux")
    form.get_by_label("Position").fill("Technicien")
    form.get_by_role("button", name="Save the contact").click()
    expect(console.page.get_by_role("alert")).to_contain_text("removed this contact meanwhile")
    expect(console.page.get_by_role("cell", name="Hugo Roux", exact=True)).to_have_count(0)
    expect(console.page.get_by_role("button", name="Add the contact")).to_be_visible()


def test_equipment_registered_from_the_equipment_tab_is_assigned_there_then_edited(
    console: Console,
) -> None:
    console.sign_in()
    customer = unique("Chauffage Leroy")
    page = console.create_customer(customer)
    console.open(page + "?tab=equipment")
    console.page.get_by_role("link", name="Register a new item").click()
    expect(console.page.get_by_role("heading", name="Register equipment")).to_be_visible()
    item = unique("Chaudière")
    console.page.get_by_label("Name", exact=True).fill(item)
    image = console.page.get_by_label("Image address (URL)")
    image.fill("not an address")
    console.page.get_by_role("button", name="Register", exact=True).click()
    expect(image).to_have_attribute("aria-invalid", "true")
    expect(console.page.locator("#e-image_url")).to_contain_text("URL")
    banner = console.page.get_by_role("alert")
    expect(banner).to_contain_text("Correct the fields marked below.")
    expect(banner).not_to_contain_text("expected schema")
    console.screen("equipment-register-error")

    serial = uuid.uuid4().hex[:10]
    image.fill("")
    console.page.get_by_label("Type", exact=True).fill("boiler")
    console.page.get_by_label("Serial number").fill(serial)
    console.page.get_by_label("Business unit").fill("Sud-Ouest")
    console.page.get_by_role("button", name="Register", exact=True).click()
    expect(console.page.get_by_role("heading", name=item)).to_be_visible()
    expect(console.page.get_by_role("definition").filter(has_text=serial)).to_be_visible()
    expect(console.page.get_by_role("definition").filter(has_text="Boiler")).to_have_count(1)
    console.screen("equipment-registered")
    console.page.get_by_role("button", name=f"Assign to {customer}").click()

    expect(console.page.get_by_role("heading", name=customer)).to_be_visible()
    expect(console.page.get_by_role("cell", name=item)).to_be_visible()
    expect(console.page.get_by_role("row").filter(has_text=item)).to_contain_text("Boiler")
    console.page.get_by_role("link", name=item).click()
    console.page.get_by_role("link", name="Edit", exact=True).click()
    console.page.get_by_label("Serial number").fill(serial + "-B")
    console.page.get_by_label("Description").fill("Replaced the burner")
    console.screen("equipment-edit")
    console.page.get_by_role("button", name="Save").click()
    expect(console.page.get_by_role("definition").filter(has_text=serial + "-B")).to_be_visible()
    expect(console.page.get_by_role("definition").filter(has_text="Sud-Ouest")).to_be_visible()
    owner = console.page.get_by_role("definition").filter(has_text=customer)
    expect(owner.get_by_role("link")).to_have_attribute("href", re.compile(page))
    console.screen("equipment-item")


def test_a_user_registers_equipment_from_the_menu_without_a_customer(console: Console) -> None:
    console.sign_in("bob", "user")
    console.page.get_by_role("link", name="Register equipment").click()
    item = unique("Pompe")
    console.page.get_by_label("Name", exact=True).fill(item)
    console.page.get_by_role("button", name="Register", exact=True).click()
    expect(console.page.get_by_role("heading", name=item)).to_be_visible()
    expect(console.page.get_by_role("button", name=re.compile("Assign to"))).to_have_count(0)
    expect(console.page.get_by_role("definition").filter(has_text="No owner")).to_be_visible()


def test_an_item_edit_over_someone_else_s_change_says_so_and_keeps_what_was_typed(
    console: Console,
) -> None:
    console.sign_in()
    console.open("/console/equipment/new")
    item = unique("Climatiseur")
    console.page.get_by_label("Name", exact=True).fill(item)
    console.page.get_by_role("button", name="Register", exact=True).click()
    console.page.get_by_role("link", name="Edit", exact=True).click()
    item_path = console.page.url.removeprefix(console.url).removesuffix("/edit")
    meanwhile(console, "PATCH", item_path, brand="Daikin")
    console.page.get_by_label("Model").fill("FTXM")
    console.page.get_by_role("button", name="Save").click()

    expect(console.page.get_by_role("alert")).to_contain_text("changed this item meanwhile")
    expect(console.page.get_by_label("Model")).to_have_value("FTXM")
    expect(console.page.get_by_label("Brand")).to_have_value("Daikin")
    console.screen("equipment-edit-conflict")
    console.page.get_by_role("button", name="Save").click()
    expect(console.page.get_by_role("definition").filter(has_text="FTXM")).to_be_visible()
    expect(console.page.get_by_role("definition").filter(has_text="Daikin")).to_be_visible()


def test_a_refusal_that_names_no_field_keeps_the_api_s_reason_above_the_form(
    console: Console,
) -> None:
    console.sign_in()
    page = console.create_customer(unique("Pompes Morel"))
    add_contact(console, page, "Paul Morel", {"Phone": "+33 6 12 34 56 78"}, "Notify by SMS")
    contact_edit_link(console, "Paul Morel").click()
    form = console.page.get_by_role("form", name="Edit the contact Paul Morel")
    form.get_by_label("Phone", exact=True).fill("")
    form.get_by_role("button", name="Save the contact").click()

    banner = console.page.get_by_role("alert")
    expect(banner).to_contain_text("needs a phone number")
    expect(banner).not_to_contain_text("Correct the fields")
    expect(form.get_by_label("Phone", exact=True)).to_have_value("")
    console.screen("contact-edit-refused")


def choose_language(console: Console, language: str) -> None:
    console.page.locator("#locale-choice").select_option(language)
    console.page.locator("#locale-choice").locator("xpath=..").get_by_role("button").click()
    expect(console.page.locator("html")).to_have_attribute("lang", language)


def test_the_banner_and_the_equipment_type_are_in_the_person_s_language(
    console: Console,
) -> None:
    console.sign_in()
    choose_language(console, "fr")
    console.open("/console/equipment/new")
    item = unique("Pompe")
    console.page.locator("#f-name").fill(item)
    console.page.locator("#f-type").fill("heat pump")
    console.page.locator("#f-image_url").fill("not an address")
    console.page.locator("main form").get_by_role("button", name="Enregistrer").click()
    banner = console.page.get_by_role("alert")
    expect(banner).to_contain_text("Corrigez les champs signalés ci-dessous.")
    expect(banner).not_to_contain_text("expected schema")
    expect(console.page.locator("#e-image_url")).to_contain_text("URL")
    console.screen("equipment-register-error-fr")

    console.page.locator("#f-image_url").fill("")
    console.page.locator("main form").get_by_role("button", name="Enregistrer").click()
    expect(console.page.get_by_role("heading", name=item)).to_be_visible()
    kind = console.page.get_by_role("definition").filter(has_text="Pompe à chaleur")
    expect(kind).to_have_count(1)
    console.screen("equipment-item-fr")

    choose_language(console, "de")
    expect(console.page.get_by_role("definition").filter(has_text="Wärmepumpe")).to_have_count(1)
    console.page.get_by_role("link", name="Bearbeiten", exact=True).click()
    console.page.locator("#f-image_url").fill("kein Link")
    console.page.locator("#f-type").fill("Kältemittelpumpe XR")
    console.page.locator("main form").get_by_role("button", name="Speichern").click()
    expect(console.page.get_by_role("alert")).to_contain_text(
        "Bitte korrigieren Sie die unten markierten Felder."
    )
    console.screen("equipment-edit-error-de")
    console.page.locator("#f-image_url").fill("")
    console.page.locator("main form").get_by_role("button", name="Speichern").click()
    # A type the console has no word for is shown as it was typed.
    unknown = console.page.get_by_role("definition").filter(has_text="Kältemittelpumpe XR")
    expect(unknown).to_have_count(1)
