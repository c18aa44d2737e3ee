"""Reading an uploaded customer list: encodings, separators, the header, the mapping, and a
row's validation problems by field."""

from __future__ import annotations

import pytest

from customer_command.adapters.spreadsheets import UnreadableSheet, read_sheet
from customer_command.application.imports.rows import (
    CustomerRow,
    InvalidMapping,
    RowError,
    column_fields,
    read_row,
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("separator", [",", ";"])
def test_a_csv_reads_the_same_in_either_encoding_and_separator(
    encoding: str, separator: str
) -> None:
    text = f"name{separator}city\r\nBoulangerie Étoile{separator}Besançon\r\n\r\n"
    sheet = read_sheet(text.encode(encoding))
    assert sheet.columns == ("name", "city")
    assert list(sheet.rows()) == [(2, {"name": "Boulangerie Étoile", "city": "Besançon"})]


def test_quoted_cells_keep_their_separators_and_rows_keep_their_numbers() -> None:
    sheet = read_sheet(b'name;note\n"Martin; fils";"deux\nlignes"\nDupont;\n')
    assert [number for number, _ in sheet.rows()] == [2, 3]
    assert next(sheet.rows())[1]["name"] == "Martin; fils"


@pytest.mark.parametrize(
    "content", [b"", b"\n\n", b"name,name\nA,B\n", b"PK\x03\x04not a workbook", b"\x00\x01"]
)
def test_a_file_without_a_readable_header_is_refused(content: bytes) -> None:
    with pytest.raises(UnreadableSheet):
        read_sheet(content)


def test_a_row_that_is_not_csv_further_down_is_named() -> None:
    sheet = read_sheet(b"name,note\nA,short\nB," + b"x" * 200_000 + b"\n")
    with pytest.raises(UnreadableSheet, match="row 3"):
        sheet.count()


def test_columns_named_like_fields_need_no_mapping_and_a_mapping_names_the_others() -> None:
    columns = ("Raison sociale", "Email", "Postal code", "Commentaire")
    fields = column_fields(columns, {"Raison sociale": "name"})
    assert fields == {"Raison sociale": "name", "Email": "email", "Postal code": "postal_code"}


@pytest.mark.parametrize("mapping", [{"Absent": "name"}, {"Raison sociale": "favourite_colour"}])
def test_a_mapping_to_a_missing_column_or_an_unknown_field_is_refused(
    mapping: dict[str, str],
) -> None:
    with pytest.raises(InvalidMapping):
        column_fields(("Raison sociale",), mapping)


def test_a_valid_row_becomes_the_inputs_of_the_api_commands() -> None:
    fields = {c: c for c in ("name", "labels", "phone", "city", "external_id", "contact_name")}
    cells = {
        "name": " Garage Dupont ",
        "labels": "vip | nord",
        "phone": "+33 1 40 00 00 00",
        "city": "Nantes",
        "external_id": "ERP-7",
        "contact_name": "Luc Dupont",
    }
    row = read_row(cells, fields)
    assert isinstance(row, CustomerRow)
    assert row.customer.name == "Garage Dupont"
    assert row.customer.labels == ("vip", "nord")
    assert row.customer.phone == "+33140000000"
    assert row.customer.custom_fields == {"external_id": "ERP-7"}
    assert row.contact is not None and row.contact.main
    patch = row.customer_patch()
    assert patch is not None and patch.model_fields_set == {"name", "phone"}


def test_an_invalid_row_names_each_field_that_failed() -> None:
    fields = {c: c for c in ("name", "email", "country", "contact_email")}
    cells = {"name": "", "email": "nope", "country": "France", "contact_email": "x"}
    errors = read_row(cells, fields)
    assert isinstance(errors, list)
    assert {error.field for error in errors} == {
        "name", "email", "country", "contact_name", "contact_email"
    }  # fmt: skip
    assert all(isinstance(error, RowError) and error.message for error in errors)
