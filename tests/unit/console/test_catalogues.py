"""Every word the console shows exists in French, English and German."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import web_console
from web_console import equipment_types
from web_console.entrypoints import customer, customers, editing, lifecycle, registry
from web_console.i18n import LOCALES, Translator, catalogue, negotiate

PACKAGE = Path(web_console.__file__).parent
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_][a-z0-9_.\-]*)["']\s*[,)]""")
# Keys built from a value (`t("role." ~ role)`): every value each prefix is built with.
BUILT_KEYS = {
    "role.": [*customers.ROLES, "user", "admin"],
    "kind.": customers.KINDS,
    "segment.": customers.SEGMENTS,
    "sort.": customers.SORTS,
    "status.": ("active", "archived", "merged", "anonymised", "deleted"),
    "list.status_": [status or "active" for status in customers.STATUSES],
    "bulk.": customers.BULK_ACTIONS,
    "tab.": customer.TABS,
    "activity.": [*customer.ACTIVITY_KINDS, "notification"],
    "action.": [*lifecycle.ACTIONS, "edit", "merge"],
    "consequence.": [*lifecycle.ACTIONS, "merge"],
    "field.": [*editing.DETAILS, *lifecycle.COMPARED, "main_location", "geo"],
    "channel.": ("email", "sms"),
    "delivery.": ("pending", "sent", "failed", "skipped"),
    "reason.": ("same_name", "similar_name", "same_email", "same_phone"),
    "import.status_": ("queued", "running", "completed", "failed"),
    "import.count_": ("created", "updated", "unchanged", "duplicates", "failed"),
    "ops.": ("retry", "skip"),
    "relation.": customer.RELATION_KINDS,
    "locale.": LOCALES,
    "item.": registry.FIELDS,
    "equipment_type.": equipment_types.TYPES,
}


def used_keys() -> set[str]:
    sources = [*PACKAGE.glob("templates/*.html"), *PACKAGE.rglob("*.py")]
    keys = {key for path in sources for key in LITERAL_KEY.findall(path.read_text())}
    keys |= {prefix + value for prefix, values in BUILT_KEYS.items() for value in values}
    return keys


def test_the_source_is_scanned_for_keys() -> None:
    assert {"list.title", "signin.dev_notice", "role.admin", "tab.history"} <= used_keys()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_key_the_console_uses_is_in_each_catalogue(locale: str) -> None:
    missing = sorted(used_keys() - catalogue(locale).keys())
    assert not missing, f"{locale}.json lacks {missing}"


@pytest.mark.parametrize("locale", LOCALES)
def test_each_catalogue_has_the_same_keys_and_no_empty_message(locale: str) -> None:
    assert catalogue(locale).keys() == catalogue("en").keys()
    assert all(message.strip() for message in catalogue(locale).values())


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_are_the_same_in_every_language(locale: str) -> None:
    fields = re.compile(r"\{(\w+)\}")
    for key, message in catalogue("en").items():
        assert set(fields.findall(catalogue(locale)[key])) == set(fields.findall(message)), key


def test_the_person_s_choice_wins_over_the_browser_s_languages() -> None:
    assert negotiate("de", "fr-FR,fr;q=0.9") == "de"
    assert negotiate(None, "es;q=1, fr-CH;q=0.8, en;q=0.5") == "fr"
    assert negotiate("xx", "es") == "en"
    assert Translator("fr")("nav.signed_in_as", name="Claire") == "Connecté en tant que Claire"
