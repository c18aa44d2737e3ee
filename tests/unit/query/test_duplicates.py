"""Duplicate scores: exact name 1.0, similar name its word overlap, same email 0.9, phone 0.8."""

from __future__ import annotations

import random
from difflib import SequenceMatcher
from typing import Any
from uuid import uuid4

import pytest

from customer_query.domain.duplicates import (
    SIMILAR_NAME_CAP,
    Compared,
    DuplicateProbe,
    match,
    name_similarity,
)
from customerhub_shared.events.customer import ContactAdded
from tests.unit.query.builders import Stream, created


def customer(**overrides: Any) -> dict[str, Any]:
    return Stream().record(created(**overrides)).view()


def probe(name: str | None = None, email: str | None = None, phone: str | None = None) -> Any:
    return DuplicateProbe.of(name=name, email=email, phone=phone)


def test_the_same_name_however_written_scores_one() -> None:
    found = match(probe(name="  BOULANGERIE martín "), customer())
    assert found is not None and found.score == 1.0 and found.reasons == ("same_name",)


def test_a_similar_name_scores_its_word_overlap() -> None:
    found = match(probe(name="Boulangerie Martin SARL"), customer())
    assert found is not None and found.reasons == ("similar_name",)
    assert found.score == pytest.approx(0.8)


def test_a_mistyped_word_still_counts_for_most_of_a_word() -> None:
    found = match(probe(name="Boulangeri Martin"), customer())
    assert found is not None and 0.9 < found.score < 1.0


def test_reordered_words_are_similar_but_not_the_same_name() -> None:
    found = match(probe(name="Martin Boulangerie"), customer())
    assert found is not None and found.score == SIMILAR_NAME_CAP


def test_sharing_one_common_word_is_not_enough() -> None:
    assert match(probe(name="Boulangerie Dupont"), customer()) is None


def test_same_email_scores_point_nine_whatever_its_case() -> None:
    found = match(probe(email="CONTACT@martin.example"), customer(name="Autre"))
    assert found is not None and found.score == 0.9 and found.reasons == ("same_email",)


def test_a_contacts_email_counts_too() -> None:
    event = created(name="Autre")
    customer_id = event.customer_id
    stream = Stream().record(event)
    stream.record(
        ContactAdded(
            customer_id=customer_id, contact_id=uuid4(), given_name="C", email="c@x.example"
        )
    )
    found = match(probe(email="c@x.example"), stream.view())
    assert found is not None and found.reasons == ("same_email",)


@pytest.mark.parametrize("typed", ["+33 1 40 00 00 00", "01 40 00 00 00", "0033140000000"])
def test_same_phone_in_any_usual_format_scores_point_eight(typed: str) -> None:
    found = match(probe(phone=typed), customer(name="Autre"))
    assert found is not None and found.score == 0.8 and found.reasons == ("same_phone",)


def test_signals_combine_by_their_maximum_and_all_are_named() -> None:
    found = match(
        probe(name="Boulangerie Martin", email="contact@martin.example", phone="+33140000000"),
        customer(),
    )
    assert found is not None and found.score == 1.0
    assert found.reasons == ("same_name", "same_email", "same_phone")


def test_nothing_in_common_is_no_match() -> None:
    assert match(probe(name="Garage Dupont", email="a@b.example"), customer()) is None


def test_an_empty_probe_is_recognised() -> None:
    assert probe().is_empty and probe(name=" - ").is_empty
    assert not probe(phone="0140").is_empty


def test_name_similarity_is_dice_over_words() -> None:
    assert name_similarity(["a1234", "b1234"], ["a1234", "b1234"]) == 1.0
    assert name_similarity(["alpha"], ["omega"]) == 0.0
    assert name_similarity([], ["alpha"]) == 0.0
    assert name_similarity(["alpha", "beta"], ["alpha", "gamma", "delta"]) == pytest.approx(0.4)


def test_the_cheap_bounds_never_change_how_alike_two_names_are() -> None:
    """Word likeness skips difflib's ratio only where its upper bounds fall short: the same
    similarity as comparing every pair in full."""
    names = [
        "boulangerie martin",
        "boulangeri martin",
        "martine boulanger",
        "ada lovelace 1764916886 1 1234",
        "ada lovelace 1764916886 2 1243",
        "dupont durand",
        "durand dupond",
        "societe generale",
        "societé generales",
        "ada lovelace 1764916886 1 999",
        "ada lovelace 1764916886 2 12345",
        "ada lovelace 1764916886 2 1299",
        "dupont 1929 durand",
    ]

    def full(words: list[str], other: list[str]) -> float:  # the scoring before the bounds
        unmatched, overlap = list(other), 0.0
        for word in words:
            best: tuple[str | None, float] = (word, 1.0) if word in unmatched else (None, 0.0)
            for candidate in [] if best[0] else unmatched:
                if min(len(word), len(candidate)) >= 4:
                    likeness = SequenceMatcher(None, word, candidate).ratio()
                    if likeness >= 0.8 and likeness > best[1]:
                        best = (candidate, likeness)
            if best[0] is not None:
                unmatched.remove(best[0])
                overlap += best[1]
        return 2 * overlap / (len(words) + len(other))

    letters = random.Random(14)
    names += [
        " ".join(
            "".join(letters.choice("abe12") for _ in range(letters.randint(1, 9)))
            for _ in range(letters.randint(1, 4))
        )
        for _ in range(150)
    ]
    for one in names:
        compared: Compared = {}  # one probe's, kept over its candidates
        for other in names:
            expected = full(one.split(), other.split())
            assert name_similarity(one.split(), other.split()) == expected
            assert name_similarity(one.split(), other.split(), compared) == expected


def test_a_probe_compares_a_pair_of_words_once_over_its_candidates() -> None:
    searched = probe("Ada Lovelace 1764957610")
    first = {"name_key": "ada lovelace 1764957590"}
    assert match(searched, first) == match(searched, dict(first))
    assert searched.compared == {("1764957610", "1764957590"): (0.9, pytest.approx(0.8))}
    assert probe("Ada Lovelace 1764957610").compared == {}  # each search starts afresh
