"""An XLSX file written as it is sent: one worksheet, text as inline strings.

The rows go straight into a ZIP stream whose bytes are handed out as they come, so an export
of any size holds one page of rows in memory and never touches the disk (an export is
personal data: no temporary file is left to outlive an anonymisation). Text is always
text: an inline string is never read as a formula or an error value.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

from customer_query.application.export import Cell

# What XML 1.0 cannot carry at all (the tab, line feed and carriage return it can).
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_PARTS = {
    "[Content_Types].xml": (
        f'<Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>"
    ),
}
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class _Drained:
    """A write-only file whose bytes are taken out as they are written."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        taken, self._chunks = b"".join(self._chunks), []
        return taken


class XlsxStream:
    """`rows(...)` and `close()` give the file's next bytes (the caller sends them on)."""

    def __init__(self, sheet: str, header: Sequence[str]) -> None:
        self._out = _Drained()
        self._zip = zipfile.ZipFile(self._out, "w", compression=zipfile.ZIP_DEFLATED)
        for name, xml in _PARTS.items():
            self._zip.writestr(name, _HEAD + xml.replace("{sheet}", escape(sheet)))
        # No Zip64: spreadsheet programs read plain ZIP best, and 4 GiB of sheet XML is
        # millions of customers (the CSV export has no such bound).
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w")
        self._sheet.write(f'{_HEAD}<worksheet xmlns="{_NS}"><sheetData>'.encode())
        self._count = 0
        self._sheet.write(self._row(header))

    def rows(self, rows: Iterable[Sequence[Cell]]) -> bytes:
        self._sheet.write(b"".join(self._row(row) for row in rows))
        return self._out.take()

    def close(self) -> bytes:
        self._sheet.write(b"</sheetData></worksheet>")
        self._sheet.close()
        self._zip.close()
        return self._out.take()

    def _row(self, row: Sequence[Cell]) -> bytes:
        self._count += 1
        cells = "".join(_cell(value) for value in row)
        return f'<row r="{self._count}">{cells}</row>'.encode()


def _cell(value: Cell) -> str:
    if value is None:
        return "<c/>"
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = escape(_NOT_IN_XML.sub("", str(value)))
        return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f"<c><v>{value!r}</v></c>"
