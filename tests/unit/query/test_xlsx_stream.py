"""The XLSX written as it is sent: bytes come out before the last row, and the file reads
back as written (text as text, numbers as numbers, empty cells empty)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from customer_query.entrypoints.http.xlsx_stream import XlsxStream


def test_the_bytes_come_out_page_by_page_and_read_back_as_written() -> None:
    workbook = XlsxStream("customers", ("name", "discount", "note"))
    pages = [
        [(f"Client {page:02d}-{n:04d} « été »", n * 0.5, None) for n in range(2000)]
        for page in range(10)
    ]
    sent = [workbook.rows(rows) for rows in pages]
    sent.append(workbook.close())
    assert sum(1 for chunk in sent[:-1] if chunk) >= 5  # not all held back for the end
    sheet = load_workbook(io.BytesIO(b"".join(sent))).worksheets[0]
    assert sheet.title == "customers"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("name", "discount", "note")
    assert rows[1:] == [row for rows in pages for row in rows]


def test_text_stays_text_and_what_xml_cannot_carry_is_left_out() -> None:
    workbook = XlsxStream("a <sheet> & more", ("value",))
    written = workbook.rows([("=1+1",), ("#N/A",), ("tab\there\x01",), ("<b>&</b>",), (7,)])
    sheet = load_workbook(io.BytesIO(written + workbook.close())).worksheets[0]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [(cell.value, cell.data_type) for cell in cells] == [
        ("=1+1", "s"),
        ("#N/A", "s"),
        ("tab\there", "s"),
        ("<b>&</b>", "s"),
        (7, "n"),
    ]
    assert sheet.title == "a <sheet> & more"
