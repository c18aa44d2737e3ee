"""Office staff's day in the console, in Chromium: each screen checked by axe and saved as a
screenshot under .artifacts/screenshots/."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import Console, unique


def test_sign_in_is_for_development_and_keeps_the_token_in_a_strict_http_only_cookie(
    console: Console,
) -> None:
    console.open("/")
    expect(console.page).to_have_url(re.compile(r"/console/sign-in"))
    expect(console.page.get_by_text("For development only")).to_be_visible()
    console.screen("sign-in")

    console.sign_in("alice", "admin")

    session = [c for c in console.page.context.cookies() if c["name"] == "customerhub_session"]
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Strict"
    assert session[0]["value"] not in console.page.url
    assert console.page.evaluate("document.cookie").find(session[0]["value"]) == -1
    console.screen("customers")


def test_a_form_posted_without_this_browser_s_csrf_token_is_refused(console: Console) -> None:
    console.sign_in()
    answer = console.page.request.post(
        console.url + "/console/customers/new", form={"name": "Forged", "csrf": "guess"}
    )
    assert answer.status == 403


def test_create_warns_about_a_likely_duplicate_and_creates_anyway(console: Console) -> None:
    console.sign_in()
    name = unique("Boulangerie Martin")
    console.create_customer(name, Email="contact@martin-dup.example")
    console.screen("customer-details")

    console.open("/console/customers/new")
    console.page.get_by_label("Name", exact=True).fill(name + " Nord")
    console.page.get_by_label("Email", exact=True).fill("contact@martin-dup.example")
    console.page.get_by_label("Address", exact=True).fill("3 rue du Nord")
    console.page.get_by_label("City", exact=True).fill("Lille")
    console.page.get_by_role("button", name="Save").click()

    warning = console.page.get_by_role("heading", name="This customer may already exist")
    expect(warning).to_be_visible()
    expect(console.page.get_by_role("link", name="open it").first).to_be_visible()
    expect(console.page.get_by_text("same email").first).to_be_visible()
    console.screen("create-duplicates")
    console.page.get_by_role("button", name="Create anyway").click()
    expect(console.page.get_by_role("heading", name=name + " Nord", exact=True)).to_be_visible()


def test_an_invalid_edit_shows_the_api_s_reason_beside_the_field(console: Console) -> None:
    console.sign_in()
    page = console.create_customer(unique("Garage Dupont"))
    console.page.get_by_role("link", name="Edit").click()
    email = console.page.get_by_label("Email", exact=True)
    email.fill("not-an-email")
    console.page.get_by_role("button", name="Save").click()

    expect(email).to_have_attribute("aria-invalid", "true")
    expect(console.page.locator("#e-email")).to_contain_text("email must be a valid address")
    banner = console.page.get_by_role("alert")
    expect(banner).to_contain_text("Correct the fields marked below.")
    expect(banner).not_to_contain_text("expected schema")
    console.screen("edit-error")
    assert console.page.url == console.url + page + "/edit"


def test_contacts_and_a_located_address_are_added_on_their_tabs(console: Console) -> None:
    console.sign_in()
    page = console.create_customer(unique("Climatech"))
    console.open(page + "?tab=contacts")
    console.page.get_by_label("Name", exact=True).fill("Claire Martin")
    console.page.get_by_label("Phone", exact=True).fill("+33 6 12 34 56 78")
    console.page.get_by_label("Notify by SMS").check()
    console.page.get_by_role("button", name="Add the contact").click()
    row = console.page.get_by_role("row").filter(has_text="Claire Martin")
    expect(row.get_by_role("cell", name="yes", exact=True)).to_have_count(0)
    row.get_by_text("Opt-ins and access").click()
    row.get_by_label("Portal access").check()
    row.get_by_role("button", name="Save").click()
    row = console.page.get_by_role("row").filter(has_text="Claire Martin")
    expect(row.get_by_role("cell", name="yes", exact=True)).to_have_count(1)
    console.screen("customer-contacts")

    console.open(page + "?tab=locations")
    console.page.get_by_label("Location name").fill("Entrepôt")
    console.page.get_by_label("Address", exact=True).fill("5 quai de Seine")
    console.page.get_by_label("City", exact=True).fill("Paris")
    console.page.get_by_label("Latitude").fill("48.8566")
    console.page.get_by_label("Longitude").fill("2.3522")
    console.page.get_by_role("button", name="Add the location").click()
    osm = console.page.get_by_role("link", name="Map (OpenStreetMap)").last
    expect(osm).to_have_attribute("href", re.compile(r"openstreetmap\.org/\?mlat=48\.8566"))
    console.screen("customer-locations")


def test_an_archived_customer_leaves_the_list_and_the_status_filter_finds_it(
    console: Console,
) -> None:
    console.sign_in()
    name = unique("Archivable")
    page = console.create_customer(name)
    console.page.get_by_role("link", name="Archive").click()
    expect(console.page.get_by_text("Nothing is erased")).to_be_visible()
    console.screen("confirm-archive")
    console.page.get_by_role("button", name="Yes, Archive").click()
    expect(console.page.get_by_text("Archived", exact=True).first).to_be_visible()

    console.open("/console/customers")
    console.page.get_by_label("Search (name, number, email, phone)").press_sequentially(
        name.split()[-1], delay=30
    )
    expect(console.page.get_by_text("No customer matches.")).to_be_visible()
    console.page.get_by_label("Status").select_option("archived")
    console.page.get_by_role("button", name="Filter").click()
    expect(console.page.get_by_role("link", name=name)).to_be_visible()
    console.screen("customers-archived")
    assert page


def test_search_as_you_type_updates_the_list_without_a_submit(console: Console) -> None:
    console.sign_in()
    name = unique("Quincaillerie Zèbre")
    console.create_customer(name)
    console.open("/console/customers")
    console.page.get_by_label("Search (name, number, email, phone)").press_sequentially(
        "quincaillerie zebre", delay=20
    )
    expect(console.page.get_by_role("link", name=name)).to_be_visible()
    expect(console.page).to_have_url(re.compile(r"q=quincaillerie"))


def test_anonymising_erases_the_history_s_personal_data(console: Console) -> None:
    console.sign_in()
    page = console.create_customer(unique("Éphémère"))
    console.page.get_by_role("link", name="Anonymise").click()
    expect(console.page.get_by_text("cannot be undone")).to_be_visible()
    console.page.get_by_role("button", name="Yes, Anonymise").click()
    expect(console.page.get_by_role("heading", name="(erased)")).to_be_visible()
    console.open(page + "?tab=history")
    expect(console.page.get_by_text("Personal data erased").first).to_be_visible()
    console.screen("customer-history-erased")


def test_the_time_slider_shows_the_record_as_it_was(console: Console) -> None:
    console.sign_in()
    first = unique("Ancien Nom")
    page = console.create_customer(first)
    console.page.get_by_role("link", name="Edit").click()
    console.page.get_by_label("Name", exact=True).fill(first.replace("Ancien", "Nouveau"))
    console.page.get_by_role("button", name="Save").click()
    console.open(page + "?tab=history")
    slider = console.page.get_by_label("Show the record as of")
    slider.focus()
    slider.press("Home")  # the keyboard moves it to the first change, which submits
    expect(console.page.get_by_role("heading", name=re.compile("The record as of"))).to_be_visible()
    expect(console.page.get_by_role("definition").filter(has_text=first)).to_be_visible()
    console.page.get_by_role("link", name="Verify the audit chain").click()
    expect(console.page.get_by_text("The audit chain holds")).to_be_visible()
    console.screen("customer-history")


def test_a_user_does_not_see_admin_actions_and_the_api_still_refuses_them(
    console: Console,
) -> None:
    console.sign_in("alice", "admin")
    page = console.create_customer(unique("Visible"))
    console.page.context.clear_cookies()
    console.sign_in("bob", "user")
    expect(console.page.get_by_role("link", name="New customer")).to_have_count(0)
    expect(console.page.get_by_role("link", name="Operations")).to_have_count(0)
    console.open(page)
    expect(console.page.get_by_role("link", name="Anonymise")).to_have_count(0)
    expect(console.page.get_by_role("link", name="Delete")).to_have_count(0)
    console.open(page + "/confirm/delete")
    console.page.get_by_role("button", name="Yes, Delete").click()
    expect(console.page.get_by_role("alert")).to_contain_text("admin")


def test_the_console_speaks_french_when_asked(console: Console) -> None:
    console.sign_in()
    console.page.get_by_label("Language").select_option("fr")
    console.page.get_by_role("button", name="Apply", exact=True).click()
    expect(console.page.get_by_role("heading", name="Clients", exact=True)).to_be_visible()
    expect(console.page.locator("html")).to_have_attribute("lang", "fr")
    console.screen("customers-fr")


def test_every_control_of_the_list_is_reached_with_the_keyboard(console: Console) -> None:
    console.sign_in()
    console.open("/console/customers")
    reached = set()
    for _ in range(40):
        console.page.keyboard.press("Tab")
        reached.add(console.page.evaluate("document.activeElement.id"))
    assert {"q", "f-role", "f-status", "bulk-action", "bulk-value"} <= reached


def test_the_customer_page_s_tabs_and_forms_are_reached_with_the_keyboard(
    console: Console,
) -> None:
    console.sign_in()
    page = console.create_customer(unique("Clavier"))
    console.open(page + "?tab=contacts")
    reached = []
    for _ in range(45):
        console.page.keyboard.press("Tab")
        reached.append(
            console.page.evaluate(
                "document.activeElement.id || document.activeElement.textContent.trim()"
            )
        )
    assert {"History", "Edit", "f-name", "f-phone", "f-notify_sms", "f-portal_access"} <= set(
        reached
    )
    assert reached.index("Edit") < reached.index("History") < reached.index("f-name")
