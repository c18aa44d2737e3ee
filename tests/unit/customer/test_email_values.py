"""An email is what email_validator makes of it, refusals and their messages included, whether
it takes the plain addresses' short way or the validator's whole way."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_command.domain.values import to_email


def validator_says(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as invalid:
        return f"email must be a valid address: {invalid}"


def we_say(value: str) -> str:
    try:
        return to_email(value)
    except ValueError as refused:
        return str(refused)


_LETTERS = "aZ09._+-!é"
_NEAR_PLAIN = st.builds(
    lambda local, domain, tld: f"{local}@{domain}{tld}",
    st.text(_LETTERS, max_size=70),
    st.text("aZ09.-", max_size=70),
    st.sampled_from(["", ".com", ".example", ".test", ".local", ".c", ".123", ".xn--p1ai"]),
)


@settings(max_examples=600)
@given(_NEAR_PLAIN | st.emails() | st.text(max_size=30))
def test_an_address_reads_as_the_validator_reads_it(value: str) -> None:
    assert we_say(value) == validator_says(value)


@pytest.mark.parametrize(
    "value",
    [
        "ada.lovelace@example.com",
        "Ada.Lovelace@EXAMPLE.com",
        "POSTMASTER@example.com",
        "Abuse@example.com",
        "a@xn--bcher-kva.example",
        "a@localhost",
        "a@b",
        "a@example.test",
        "a@-example.com",
        "a@example-.com",
        "a..b@example.com",
        ".a@example.com",
        "a@example..com",
        "a@123.123",
        f"{'a' * 65}@example.com",
        f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.com",
        f"a@{'b' * 64}.com",
        "Ada <a@example.com>",
    ],
)
def test_edge_addresses_read_as_the_validator_reads_them(value: str) -> None:
    assert we_say(value) == validator_says(value)
