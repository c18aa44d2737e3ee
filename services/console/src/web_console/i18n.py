"""The console's words in French, English and German: one JSON catalogue per locale, the
locale chosen by the person (a cookie) or else by the browser's Accept-Language."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

LOCALES = ("fr", "en", "de")
DEFAULT_LOCALE = "en"


@cache
def catalogue(locale: str) -> dict[str, str]:
    text = resources.files("web_console").joinpath(f"locales/{locale}.json").read_text("utf-8")
    messages: dict[str, str] = json.loads(text)
    return messages


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The person's choice, else the first language the browser accepts that we speak."""
    if chosen in LOCALES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, index, tag.split("-")[0].lower()))
    for _, _, language in sorted(ranked):
        if language in LOCALES:
            return language
    return DEFAULT_LOCALE


class Translator:
    """`t(key, **values)`: the message in this locale (a missing key is a test failure,
    and shows as the key itself rather than breaking the page)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._messages = catalogue(locale)

    def __call__(self, key: str, **values: Any) -> str:
        message = self._messages.get(key, key)
        return message.format(**values) if values else message
