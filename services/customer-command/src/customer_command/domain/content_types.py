"""What an attachment's bytes are, judged by their magic numbers, and whether the type a
client declared agrees: a file is stored and served back with a type its content bears out."""

from __future__ import annotations

import io
import re
import zipfile

from customer_command.domain.errors import AttachmentTypeMismatch, AttachmentTypeUnsupported

OCTET_STREAM = "application/octet-stream"
PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
OLE = "application/x-ole-storage"  # legacy .doc, .xls, .ppt
TEXT = "text/plain"

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),
)
_OOXML_PARTS = (
    ("word/document.xml", DOCX),
    ("xl/workbook.xml", XLSX),
    ("ppt/presentation.xml", PPTX),
)
_ODF_TYPES = frozenset({ODT, ODS, ODP})

# Declared types each found type bears out (aliases browsers and tools send).
_AGREEING: dict[str, frozenset[str]] = {
    PDF: frozenset({PDF, "application/x-pdf"}),
    PNG: frozenset({PNG}),
    JPEG: frozenset({JPEG, "image/jpg", "image/pjpeg"}),
    GIF: frozenset({GIF}),
    WEBP: frozenset({WEBP}),
    ZIP: frozenset({ZIP, "application/x-zip-compressed"}),
    DOCX: frozenset({DOCX}),
    XLSX: frozenset({XLSX}),
    PPTX: frozenset({PPTX}),
    ODT: frozenset({ODT}),
    ODS: frozenset({ODS}),
    ODP: frozenset({ODP}),
    OLE: frozenset(
        {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"}
    ),
    # Text is text: a CSV or TSV export is plain text to the bytes. HTML, SVG and XML are
    # not among them: served back from this origin they could run scripts.
    TEXT: frozenset({TEXT, "text/csv", "text/tab-separated-values", "application/csv"}),
}
CHECKED_TYPES = frozenset().union(*_AGREEING.values())
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff(content: bytes) -> str:
    """The content's type by its first bytes; OCTET_STREAM when none is recognised."""
    for magic, found in _MAGIC:
        if content.startswith(magic):
            return found
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(content)
    if _is_text(content):
        return TEXT
    return OCTET_STREAM


def checked_content_type(declared: str | None, content: bytes) -> str:
    """The type to store: the declared one when the bytes bear it out, the found one when
    nothing (or octet-stream) was declared. Refuses a declared type the bytes contradict
    (AttachmentTypeMismatch) and one that cannot be checked (AttachmentTypeUnsupported)."""
    found = sniff(content)
    wanted = _essence(declared)
    if wanted in (None, OCTET_STREAM):
        return found
    if wanted not in CHECKED_TYPES:
        raise AttachmentTypeUnsupported(wanted)
    if wanted not in _AGREEING.get(found, frozenset()):
        raise AttachmentTypeMismatch(wanted, found)
    return wanted


def _essence(content_type: str | None) -> str | None:
    """`Text/CSV; charset=utf-8` → `text/csv`."""
    if content_type is None:
        return None
    essence = content_type.split(";", 1)[0].strip().lower()
    return essence or None


def _zip_kind(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                if declared in _ODF_TYPES:
                    return declared
            for part, kind in _OOXML_PARTS:
                if part in names and "[Content_Types].xml" in names:
                    return kind
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return OCTET_STREAM
    return ZIP


def _is_text(content: bytes) -> bool:
    """UTF-8 (or Windows-1252, what spreadsheets export) without control bytes but tabs, line
    and page ends."""
    if _CONTROL_BYTES.search(content):
        return False
    for encoding in ("utf-8", "cp1252"):
        try:
            content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False
