from __future__ import annotations

import pytest

from customer_command.domain.names import name_key


@pytest.mark.parametrize(
    "name",
    ["Boulangerie Martin", "  BOULANGERIE   martin ", "Boulangerie-Martin", "boulangerie, martin."],
)
def test_spelling_variants_of_a_name_share_one_key(name: str) -> None:
    assert name_key(name) == "boulangerie martin"


def test_accents_do_not_distinguish_names() -> None:
    assert name_key("Frères Éléonore") == name_key("freres eleonore") == "freres eleonore"


def test_different_names_keep_different_keys() -> None:
    assert name_key("Martin Nord") != name_key("Martin Sud")


def test_german_sharp_s_folds_like_ss() -> None:
    assert name_key("Straße GmbH") == "strasse gmbh"
