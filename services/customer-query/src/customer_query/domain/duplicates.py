"""How likely a customer is the one described by a name, an email or a phone number.

Scores are in [0, 1]: the same normalised name is 1.0, a similar one its token overlap
(at most 0.95, so only an exact name scores 1.0); the same email 0.9; the same phone 0.8.
The signals combine by their maximum, and every one that fired is named as a reason.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from customer_query.domain import terms

SAME_NAME = 1.0
SAME_EMAIL = 0.9
SAME_PHONE = 0.8
SIMILAR_NAME_CAP = 0.95
SIMILAR_NAME_THRESHOLD = 0.6
# Two words this close are one word mistyped ('boulangerie' / 'boulangeri').
SIMILAR_WORD_RATIO = 0.8
MIN_FUZZY_WORD_LENGTH = 4
# From this length of the second word, difflib treats its frequent letters as junk.
_DIFFLIB_AUTOJUNK_LENGTH = 200


# Per pair of words: how alike their letters alone let them be, and difflib's ratio once known.
Compared = dict[tuple[str, str], tuple[float, float | None]]


@dataclass(frozen=True)
class DuplicateProbe:
    """What a user is about to enter, normalised once."""

    name_key: str = ""
    email: str | None = None
    phone_key: str | None = None
    # This probe's words compared with candidates' words so far: one search meets the same
    # pair of words again in every candidate holding it. It lives as the probe does.
    compared: Compared = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, *, name: str | None, email: str | None, phone: str | None) -> DuplicateProbe:
        # As typed: '+33 1 40…' meets a customer's international key, '01 40…' its national one.
        return cls(
            name_key=terms.name_key(name),
            email=terms.email_key(email),
            phone_key=(terms.typed_phone_key(phone) if phone else None) or None,
        )

    @functools.cached_property
    def name_words(self) -> list[str]:
        # Read once per candidate compared: split once per probe.
        return self.name_key.split()

    @property
    def is_empty(self) -> bool:
        return not (self.name_key or self.email or self.phone_key)


@dataclass(frozen=True)
class DuplicateMatch:
    score: float
    reasons: tuple[str, ...]


def name_similarity(
    words: Sequence[str], other: Sequence[str], compared: Compared | None = None
) -> float:
    """Sørensen-Dice over words, where a mistyped word counts for how alike it is; `compared`
    keeps what comparing two words found, for another call with the same words."""
    if not words or not other:
        return 0.0
    unmatched = list(other)
    overlap = 0.0
    for word in words:
        if word in unmatched:  # the same word: no closer one to look for
            unmatched.remove(word)
            overlap += 1.0
            continue
        if len(word) < MIN_FUZZY_WORD_LENGTH:  # too short to be taken for a mistyped one
            continue
        best, likeness = _closest(word, unmatched, {} if compared is None else compared)
        if best is not None:
            unmatched.remove(best)
            overlap += likeness
    return 2 * overlap / (len(words) + len(other))


def _closest(word: str, candidates: Sequence[str], compared: Compared) -> tuple[str | None, float]:
    """The candidate most like `word` (a mistyped form of it), if one is alike enough."""
    best: tuple[str | None, float] = (None, 0.0)
    for candidate in candidates:
        if len(candidate) < MIN_FUZZY_WORD_LENGTH:
            continue
        at_least = max(SIMILAR_WORD_RATIO, best[1])
        likeness = _likeness(word, candidate, at_least=at_least, compared=compared)
        if likeness >= SIMILAR_WORD_RATIO and likeness > best[1]:
            best = (candidate, likeness)
    return best


def _likeness(word: str, candidate: str, *, at_least: float, compared: Compared) -> float:
    """difflib's ratio of two different words, or 0.0 where their letters alone keep it
    below `at_least` (at least `SIMILAR_WORD_RATIO`)."""
    pair = (word, candidate)
    known = compared.get(pair)
    if known is None:
        known = compared[pair] = (_letters_bound(word, candidate), None)
    bound, ratio = known
    if bound < at_least:
        return 0.0
    if ratio is None:
        ratio = _ratio(word, candidate)
        compared[pair] = (bound, ratio)
    return ratio


def _letters_bound(word: str, candidate: str) -> float:
    """At least the ratio of two different words, from their letters alone, where it could
    reach `SIMILAR_WORD_RATIO`: at most the shorter one's letters match (its `real_quick_ratio`
    bound), none of those the longer one lacks, and one letter fewer where both are as long
    (all would make them the same word)."""
    lengths = len(word) + len(candidate)
    shorter, longer = (word, candidate) if len(word) <= len(candidate) else (candidate, word)
    as_long = len(word) == len(candidate)
    bound = 2 * (len(shorter) - as_long) / lengths
    if bound < SIMILAR_WORD_RATIO:
        return bound
    lacking = sum(letter not in longer for letter in shorter)
    return 2 * (len(shorter) - max(lacking, as_long)) / lengths


def _ratio(word: str, candidate: str) -> float:
    if len(candidate) >= _DIFFLIB_AUTOJUNK_LENGTH:
        return SequenceMatcher(None, word, candidate).ratio()
    return 2.0 * _matching_letters(word, candidate) / (len(word) + len(candidate))


def _matching_letters(a: str, b: str) -> int:
    """How many letters difflib's SequenceMatcher(None, a, b) matches: its longest common
    block (the earliest in `a`, then in `b`), then the same on each side of it; below
    difflib's autojunk length, with no junk given."""
    positions: dict[str, list[int]] = {}
    for j, letter in enumerate(b):
        positions.setdefault(letter, []).append(j)
    total = 0
    pending = [(0, len(a), 0, len(b))]
    while pending:
        alo, ahi, blo, bhi = pending.pop()
        besti, bestj, best = alo, blo, 0
        lengths: dict[int, int] = {}
        for i in range(alo, ahi):
            ending: dict[int, int] = {}
            for j in positions.get(a[i], ()):
                if j < blo:
                    continue
                if j >= bhi:
                    break
                k = ending[j] = lengths.get(j - 1, 0) + 1
                if k > best:
                    besti, bestj, best = i - k + 1, j - k + 1, k
            lengths = ending
        if best:
            total += best
            if alo < besti and blo < bestj:
                pending.append((alo, besti, blo, bestj))
            if besti + best < ahi and bestj + best < bhi:
                pending.append((besti + best, ahi, bestj + best, bhi))
    return total


# The fields of a view document `match` reads: a query for candidates needs no others.
MATCHED_FIELDS = ("name_key", "emails", "phones")


def match(probe: DuplicateProbe, customer: dict[str, Any]) -> DuplicateMatch | None:
    """How `customer` (a view document) matches the probe, or None when it does not."""
    score = 0.0
    reasons: tuple[str, ...] = ()
    named = _name_signal(probe, customer.get("name_key") or "")
    if named is not None:
        score, reasons = named[0], (named[1],)
    if probe.email in customer.get("emails", ()):
        score, reasons = max(score, SAME_EMAIL), (*reasons, "same_email")
    if probe.phone_key in customer.get("phones", ()):
        score, reasons = max(score, SAME_PHONE), (*reasons, "same_phone")
    return DuplicateMatch(round(score, 3), reasons) if reasons else None


def _name_signal(probe: DuplicateProbe, name_key: str) -> tuple[float, str] | None:
    if not probe.name_key or not name_key:
        return None
    if probe.name_key == name_key:
        return SAME_NAME, "same_name"
    similarity = name_similarity(probe.name_words, name_key.split(), probe.compared)
    similarity = min(similarity, SIMILAR_NAME_CAP)
    return (similarity, "similar_name") if similarity >= SIMILAR_NAME_THRESHOLD else None
