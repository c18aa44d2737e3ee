"""Reading an uploaded customer list: CSV (UTF-8 or Windows-1252, `,` or `;`) or XLSX.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first customer row 2.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from openpyxl import load_workbook

SheetFormat = Literal["csv", "xlsx"]
_ZIP_MAGIC = b"PK\x03\x04"


class UnreadableSheet(ValueError):
    """The upload is neither a CSV with a header row nor an XLSX workbook."""


Row = tuple[int, dict[str, str]]


@dataclass(frozen=True)
class Sheet:
    format: SheetFormat
    columns: tuple[str, ...]
    content: bytes

    def rows(self, *, start: int = 2) -> Iterator[Row]:
        """(row number, column → text) for every non-empty row from `start` on."""
        for number, cells in self._cells():
            if number < start or not any(cells):
                continue
            yield (
                number,
                {column: cells[i] for i, column in enumerate(self.columns) if i < len(cells)},
            )

    def count(self) -> int:
        return sum(1 for _ in self.rows())

    def _cells(self) -> Iterator[tuple[int, list[str]]]:
        if self.format == "xlsx":
            yield from _xlsx_cells(self.content)
        else:
            yield from _csv_cells(self.content)


def read_sheet(content: bytes) -> Sheet:
    """The sheet, with its header read, or UnreadableSheet saying why not."""
    sheet_format: SheetFormat = "xlsx" if content.startswith(_ZIP_MAGIC) else "csv"
    try:
        first = next(_xlsx_cells(content) if sheet_format == "xlsx" else _csv_cells(content))
    except StopIteration:
        raise UnreadableSheet("the file is empty: it needs a header row") from None
    except (csv.Error, OSError, KeyError, ValueError) as error:
        raise UnreadableSheet(f"the file is not a readable CSV or XLSX ({error})") from None
    columns = tuple(cell.strip() for cell in first[1])
    if not any(columns):
        raise UnreadableSheet("the first row must name the columns")
    if len(set(columns)) != len(columns):
        raise UnreadableSheet("the header names a column twice")
    return Sheet(sheet_format, columns, content)


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page, which for French is 1252.
        return content.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _csv_cells(content: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(content)
    if "\x00" in text:
        raise UnreadableSheet("the file is binary, not a CSV")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, [cell.strip() for cell in cells]
    except csv.Error as error:
        raise UnreadableSheet(f"row {number + 1} cannot be read as CSV: {error}") from None


def _xlsx_cells(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged workbook
        raise UnreadableSheet(f"the workbook cannot be read ({type(error).__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
