"""How names, numbers, emails and phones become comparable terms: lower-case, accent-free.

Both sides use the same functions: the view when it stores a customer's search terms, the
queries when they turn what a user typed into prefixes, so "ÉLO" finds "Elodie".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import phonenumbers

_SEPARATORS = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")
_MIN_PHONE_DIGITS = 3
MAX_PREFIXES = 8


@functools.lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Case- and accent-free: 'Élodie MARTÍN' becomes 'elodie martin'."""
    if text.isascii():
        return text.casefold()  # nothing to decompose, no accent to drop
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words(text: str | None) -> list[str]:
    if not text:
        return []
    return [word for word in _SEPARATORS.split(fold(text)) if word]


def name_key(name: str | None) -> str:
    """'  Boulangerie  MARTIN-Frères ' and 'boulangerie martin freres' share one key."""
    return " ".join(words(name))


def email_key(email: str | None) -> str | None:
    return fold(email).strip() if email else None


def phone_keys(phone: str | None) -> list[str]:
    """The digits a phone number is known by: international (E.164 without '+') and national.

    '+33 1 40 00 00 00' is '33140000000' and '0140000000'.
    """
    return list(_phone_keys(phone)) if phone else []


def phone_terms(phone: str | None) -> list[str]:
    """Phone keys plus the national significant number, so '1 40 00' finds a Paris number."""
    return list(_phone_terms(phone)) if phone else []


# Every event re-derives a customer's search terms; parsing its phones each time was a third
# of replay time (bench/replay_readmodel.py), and the same few numbers come back again and again.
@functools.lru_cache(maxsize=65_536)
def _phone_forms(phone: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys, terms) of one phone number, parsed once."""
    parsed = _parsed_phone(phone)
    if parsed is None:
        digits = "".join(_DIGITS.findall(phone))
        keys: tuple[str, ...] = (digits,) if digits else ()
        return keys, keys
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    national_digits = "".join(_DIGITS.findall(national))
    significant = phonenumbers.national_significant_number(parsed)
    keys = tuple(_unique([f"{parsed.country_code}{significant}", national_digits]))
    return keys, tuple(_unique([*keys, significant]))


def forget_cached_phones() -> None:
    """Drop every phone number the cache holds: an erasure leaves no copy in memory either."""
    _phone_forms.cache_clear()


def _phone_keys(phone: str) -> tuple[str, ...]:
    return _phone_forms(phone)[0]


def _phone_terms(phone: str) -> tuple[str, ...]:
    return _phone_forms(phone)[1]


def customer_number_terms(number: str | None) -> list[str]:
    """'C-10001' is found as 'c', '10001' and 'c10001'; 'C10001' as 'c10001' and '10001'."""
    parts = words(number)
    compact = "".join(parts)
    return _unique([*parts, compact, *_DIGITS.findall(compact)]) if compact else []


def email_terms(email: str | None) -> list[str]:
    """The whole address and its local part: 'claire@martin.example' and 'claire'."""
    key = email_key(email)
    if not key:
        return []
    return _unique([key, key.partition("@")[0]])


def query_prefixes(text: str | None) -> tuple[str, ...]:
    """What a user typed in `q`, as the prefixes every one of which a customer must match.

    A phone number, however it is spaced, is one prefix of digits; an email stays whole.
    """
    if not text or not text.strip():
        return ()
    stripped = text.strip()
    if _looks_like_phone(stripped):
        return (_typed_phone_digits(stripped),)
    prefixes: list[str] = []
    for chunk in stripped.split():
        prefixes.extend([fold(chunk)] if "@" in chunk else words(chunk))
    return tuple(_unique(prefixes)[:MAX_PREFIXES])


def typed_phone_key(phone: str) -> str:
    """The digits of a phone number as typed: '+33 1 40…' → '331 40…', '0033…' → '33…'."""
    return _typed_phone_digits(phone.strip())


def _typed_phone_digits(text: str) -> str:
    digits = "".join(_DIGITS.findall(text))
    if not text.startswith("+") and digits.startswith("00"):
        return digits[2:]  # the international call prefix, as typed in most of Europe
    return digits


def _looks_like_phone(text: str) -> bool:
    digit_count = sum(len(run) for run in _DIGITS.findall(text))
    return bool(_PHONE_LIKE.match(text)) and digit_count >= _MIN_PHONE_DIGITS


def _parsed_phone(phone: str) -> phonenumbers.PhoneNumber | None:
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_possible_number(parsed) else None


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))
