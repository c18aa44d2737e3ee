"""The customer page's attachments tab: upload, list, download and remove a file through the
console, and the refusals of the API shown next to the file field."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import ATTACHMENT_MAX_BYTES, Console, unique

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def customer_for_bob(console: Console, name: str) -> str:
    """Created by an admin (users may not create customers), then worked on by bob, a user."""
    console.sign_in()
    page = console.create_customer(unique(name))
    console.page.context.clear_cookies()
    console.sign_in("bob", "user")
    return page


def attach(console: Console, name: str, mime_type: str, content: bytes) -> None:
    console.page.get_by_label("File to attach").set_input_files(
        files=[{"name": name, "mimeType": mime_type, "buffer": content}]
    )
    console.page.get_by_role("button", name="Upload").click()


def test_a_user_attaches_downloads_and_removes_a_file_after_a_confirmation(
    console: Console, tmp_path: Path
) -> None:
    page = customer_for_bob(console, "Plomberie Petit")
    console.open(page + "?tab=attachments")
    expect(console.page.get_by_text("No files attached yet.")).to_be_visible()

    attach(console, "devis-42.pdf", "application/pdf", PDF)
    row = console.page.get_by_role("row").filter(has_text="devis-42.pdf")
    expect(row).to_contain_text("application/pdf")
    expect(row).to_contain_text(f"{len(PDF)} B")
    expect(row).to_contain_text("by bob")
    # A user is shown what the API lets a user do, and not the admin-only actions.
    expect(console.page.get_by_role("link", name="Merge")).to_have_count(0)
    expect(console.page.get_by_role("link", name="Anonymise")).to_have_count(0)
    console.screen("customer-attachments")

    with console.page.expect_download() as downloading:
        console.page.get_by_role("link", name="devis-42.pdf", exact=True).click()
    download = downloading.value
    assert download.suggested_filename == "devis-42.pdf"
    saved = tmp_path / "devis.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == PDF

    console.page.get_by_role("link", name="Remove devis-42.pdf").click()
    expect(console.page.get_by_text("deleted for good")).to_be_visible()
    console.screen("confirm-attachment-removal")
    console.page.get_by_role("button", name="Yes, remove the file").click()
    expect(console.page.get_by_text("No files attached yet.")).to_be_visible()


def test_a_refused_upload_says_why_next_to_the_file_field(console: Console) -> None:
    page = customer_for_bob(console, "Électricité Roux")
    console.open(page + "?tab=attachments")
    field = console.page.get_by_label("File to attach")

    attach(console, "page.html", "text/html", b"<html><script>alert(1)</script></html>")
    expect(console.page.get_by_role("alert")).to_contain_text("cannot be attached")
    expect(field).to_have_attribute("aria-invalid", "true")
    console.screen("customer-attachments-refused")

    attach(console, "big.txt", "text/plain", b"a" * (ATTACHMENT_MAX_BYTES + 1))
    expect(console.page.get_by_role("alert")).to_contain_text("larger than an attachment may be")

    attach(console, "photo.pdf", "application/pdf", PNG)
    expect(console.page.get_by_role("alert")).to_contain_text("does not match its type")
    expect(console.page.get_by_text("No files attached yet.")).to_be_visible()


def test_the_attachments_tab_s_form_is_reached_with_the_keyboard(console: Console) -> None:
    console.sign_in()
    page = console.create_customer(unique("Clavier Fichier"))
    console.open(page + "?tab=attachments")
    reached = []
    for _ in range(40):
        console.page.keyboard.press("Tab")
        reached.append(
            console.page.evaluate(
                "document.activeElement.id || document.activeElement.textContent.trim()"
            )
        )
    assert {"Attachments", "f-file", "Upload"} <= set(reached)
