"""Names, numbers, emails and phones become case- and accent-free terms, typed text prefixes."""

from __future__ import annotations

import pytest

from customer_query.domain import terms


@pytest.mark.parametrize(
    ("typed", "prefixes"),
    [
        ("boul", ("boul",)),
        ("MARTIN", ("martin",)),
        ("élo", ("elo",)),
        ("  Boulangerie   MARTÍN-Frères ", ("boulangerie", "martin", "freres")),
        ("claire@Martin.ex", ("claire@martin.ex",)),
        ("+33 1 40 00", ("3314000",)),
        ("01 40 00 00 00", ("0140000000",)),
        ("0033 1 40", ("33140",)),
        ("C-100", ("c", "100")),
        ("", ()),
        ("   ", ()),
        (None, ()),
        ("--", ()),
    ],
)
def test_query_text_becomes_normalised_prefixes(
    typed: str | None, prefixes: tuple[str, ...]
) -> None:
    assert terms.query_prefixes(typed) == prefixes


def test_too_many_words_are_cut_to_the_first_few() -> None:
    typed = " ".join(f"w{n}" for n in range(20))
    assert len(terms.query_prefixes(typed)) == terms.MAX_PREFIXES


def test_name_key_ignores_case_accents_and_separators() -> None:
    assert terms.name_key("  Boulangerie  MARTIN-Frères ") == "boulangerie martin freres"
    assert terms.name_key("ÉLODIE") == terms.name_key("elodie")
    assert terms.name_key(None) == ""


def test_phone_is_known_by_its_international_and_national_digits() -> None:
    assert terms.phone_keys("+33140000000") == ["33140000000", "0140000000"]
    assert terms.phone_terms("+33140000000") == ["33140000000", "0140000000", "140000000"]
    assert terms.phone_keys("+390612345678") == ["390612345678", "0612345678"]


def test_unparseable_phone_falls_back_to_its_digits() -> None:
    assert terms.phone_keys("12") == ["12"]
    assert terms.phone_keys(None) == [] and terms.phone_keys("") == []


def test_email_terms_are_the_address_and_its_local_part() -> None:
    assert terms.email_terms("Claire.M@Martin.example") == [
        "claire.m@martin.example",
        "claire.m",
    ]
    assert terms.email_terms(None) == []


def test_customer_number_is_found_with_and_without_its_letters() -> None:
    assert set(terms.customer_number_terms("C10001")) == {"c10001", "10001"}
    assert set(terms.customer_number_terms("C-10001")) == {"c", "10001", "c10001"}
    assert terms.customer_number_terms(None) == []
