"""Attachments on the aggregate (delete, anonymise, merge) and the type check of their bytes."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from customer_command.domain import content_types as ct
from customer_command.domain import errors
from customer_command.domain.values import NewAttachment, attachment_file_name
from customerhub_shared.events.customer import (
    AttachmentRemoved,
    CustomerAnonymised,
    DuplicatesMerged,
)
from tests.unit.customer.builders import a_customer

NOW = datetime(2026, 3, 3, 12, tzinfo=UTC)


def a_file(name: str = "devis.pdf", sha256: str = "ab" * 32) -> NewAttachment:
    return NewAttachment(file_name=name, content_type=ct.PDF, size=10, sha256=sha256)


def zipped(*entries: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


DOCX = zipped(("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>"))
XLSX = zipped(("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>"))
ODT = zipped(("mimetype", ct.ODT.encode()), ("content.xml", b"<office:document-content/>"))


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"%PDF-1.4\n", ct.PDF),
        (b"\x89PNG\r\n\x1a\n....", ct.PNG),
        (b"\xff\xd8\xff\xe0JFIF", ct.JPEG),
        (b"GIF89a....", ct.GIF),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", ct.WEBP),
        (DOCX, ct.DOCX),
        (XLSX, ct.XLSX),
        (ODT, ct.ODT),
        (zipped(("notes.txt", b"x")), ct.ZIP),
        ("nom;ville\nMüller;Köln\n".encode(), ct.TEXT),
        ("nom;ville\nMüller;Köln\n".encode("cp1252"), ct.TEXT),
        (b"\x00\x01\x02binary", ct.OCTET_STREAM),
        (b"PK\x03\x04 not really a zip", ct.OCTET_STREAM),
    ],
)
def test_the_type_is_read_from_the_first_bytes(content: bytes, found: str) -> None:
    assert ct.sniff(content) == found


def test_a_declared_type_the_bytes_bear_out_is_kept() -> None:
    assert ct.checked_content_type("text/csv; charset=utf-8", b"a;b\n1;2\n") == "text/csv"
    assert ct.checked_content_type("image/jpg", b"\xff\xd8\xff\xe0") == "image/jpg"
    assert ct.checked_content_type(None, DOCX) == ct.DOCX
    assert ct.checked_content_type(ct.OCTET_STREAM, b"%PDF-1.4") == ct.PDF


def test_a_declared_type_the_bytes_contradict_is_refused() -> None:
    with pytest.raises(errors.AttachmentTypeMismatch) as refused:
        ct.checked_content_type(ct.PDF, b"\x89PNG\r\n\x1a\n")
    assert (refused.value.declared, refused.value.found) == (ct.PDF, ct.PNG)
    with pytest.raises(errors.AttachmentTypeMismatch):
        ct.checked_content_type(ct.XLSX, DOCX)
    with pytest.raises(errors.AttachmentTypeMismatch):
        ct.checked_content_type("text/plain", b"MZ\x90\x00\x03\x00")


@pytest.mark.parametrize("declared", ["text/html", "image/svg+xml", "application/x-msdownload"])
def test_a_type_that_cannot_be_checked_or_served_safely_is_unsupported(declared: str) -> None:
    with pytest.raises(errors.AttachmentTypeUnsupported):
        ct.checked_content_type(declared, b"<html><script>alert(1)</script></html>")


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("C:\\Users\\claire\\devis.pdf", "devis.pdf"),
        ("../../etc/passwd", "passwd"),
        ("ligne\r\nmalicieuse.txt", "lignemalicieuse.txt"),
        ("", "attachment"),
        (None, "attachment"),
        ("x" * 300, "x" * 255),
    ],
)
def test_a_file_name_keeps_its_last_segment_without_control_characters(
    raw: str | None, kept: str
) -> None:
    assert attachment_file_name(raw) == kept


def test_adding_the_same_file_under_the_same_id_again_changes_nothing() -> None:
    customer, attachment_id = a_customer(), uuid4()
    customer.add_attachment(attachment_id, a_file(), added_by="bob", at=NOW)
    customer.add_attachment(attachment_id, a_file(), added_by="bob", at=NOW)
    assert len(customer.pending) == 1
    with pytest.raises(errors.AttachmentAlreadyExists):
        customer.add_attachment(attachment_id, a_file(sha256="cd" * 32), added_by="bob", at=NOW)


def test_a_customer_with_attachments_cannot_be_deleted() -> None:
    customer, attachment_id = a_customer(), uuid4()
    customer.add_attachment(attachment_id, a_file(), added_by="bob", at=NOW)
    with pytest.raises(errors.CustomerHasAttachments):
        customer.delete()
    customer.remove_attachment(attachment_id, removed_by="bob")
    customer.delete()
    assert customer.status == "deleted"


def test_anonymising_removes_every_attachment_without_its_name_first() -> None:
    customer = a_customer()
    for name in ("devis.pdf", "photo.png"):
        customer.add_attachment(uuid4(), a_file(name), added_by="bob", at=NOW)
    customer.pending.clear()
    customer.anonymise(by="alice")
    *removals, anonymised = customer.pending
    assert isinstance(anonymised, CustomerAnonymised)
    assert len(removals) == 2
    for removal in removals:
        assert isinstance(removal, AttachmentRemoved)
        assert (removal.file_name, removal.sha256, removal.removed_by) == (None, None, "alice")
    assert customer.attachments == {}


def test_a_merge_moves_the_duplicates_attachments_to_the_survivor() -> None:
    survivor, duplicate = a_customer(), a_customer(name="Boulangerie Martin bis")
    kept, moved = uuid4(), uuid4()
    survivor.add_attachment(kept, a_file("own.pdf"), added_by="bob", at=NOW)
    duplicate.add_attachment(moved, a_file("contrat.pdf"), added_by="carol", at=NOW)
    survivor.pending.clear()
    survivor.absorb([duplicate])
    [event] = survivor.pending
    assert isinstance(event, DuplicatesMerged)
    assert [(a.attachment_id, a.file_name, a.added_by) for a in event.attachments or ()] == [
        (moved, "contrat.pdf", "carol")
    ]
    assert set(survivor.attachments) == {kept, moved}
    assert survivor.attachments[moved].blob_key == f"attachments/{moved}"
    assert survivor.attachments[moved].sealed_for == duplicate.id, "opened with its first key"
    assert survivor.attachments[kept].sealed_for == survivor.id


def test_an_attachment_the_customer_does_not_list_is_not_found() -> None:
    customer = a_customer()
    with pytest.raises(errors.AttachmentNotFound):
        customer.attachment(uuid4())
    with pytest.raises(errors.AttachmentNotFound):
        customer.remove_attachment(uuid4(), removed_by="bob")
