"""The comparable form of a customer's name, for uniqueness and duplicate detection."""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\W_]+")


def name_key(name: str) -> str:
    """'  Boulangerie  MARTIN-Frères ' and 'boulangerie martin freres' share one key."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    unaccented = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SEPARATORS.sub(" ", unaccented).strip()
