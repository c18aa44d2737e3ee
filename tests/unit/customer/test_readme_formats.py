"""Every example in the README's "Field formats" table is a value the API accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from customer_command.domain.values import Address, NewContact, NewCustomer

README = Path(__file__).resolve().parents[3] / "README.md"
BASE: dict[str, Any] = {"name": "Boulangerie Martin", "main_location": {"city": "Paris"}}


def examples() -> list[tuple[str, Any]]:
    section = README.read_text().split("### Field formats", 1)[1].split("\n### ", 1)[0]
    found = []
    for row in re.findall(r"^\| `([a-z_]+)`.*\| (`.+`) \|$", section, re.M):
        field, example = row[0], re.findall(r"`([^`]+)`", row[1])[0]
        found.append((field, json.loads(example)))
    return found


EXAMPLES = examples()


def test_the_table_has_an_example_for_each_format() -> None:
    assert {"region", "language", "country", "phone", "email", "main_location"} <= {
        field for field, _ in EXAMPLES
    }


@pytest.mark.parametrize(("field", "example"), EXAMPLES, ids=[f for f, _ in EXAMPLES])
def test_each_readme_example_is_accepted(field: str, example: Any) -> None:
    if field in NewCustomer.model_fields:
        NewCustomer.model_validate({**BASE, field: example})
    elif field in Address.model_fields:
        Address.model_validate({"city": "Paris", field: example})
    else:
        assert field in NewContact.model_fields
        NewContact.model_validate({"name": "Claire", "email": "c@martin.example", field: example})
