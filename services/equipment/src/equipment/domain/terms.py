"""How item names, references and serial numbers become search terms: lower-case, accent-free.

The view stores an item's terms and the queries turn what a user typed into prefixes with the
same functions, so "chaudiere sn-20" finds "Chaudière" with serial "SN-2024-0042".
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\W_]+")
MAX_PREFIXES = 8


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words(text: str | None) -> list[str]:
    return [word for word in _SEPARATORS.split(fold(text or "")) if word]


def code_terms(code: str | None) -> list[str]:
    """A reference or serial number by its parts and whole: 'SN-2024-0042' is 'sn', '2024',
    '0042' and 'sn20240042'."""
    parts = words(code)
    return [*parts, "".join(parts)] if len(parts) > 1 else parts


def query_prefixes(text: str | None) -> tuple[str, ...]:
    """What a user typed, as the prefixes every one of which an item must match."""
    return tuple(dict.fromkeys(words(text)))[:MAX_PREFIXES]
