"""What a template promises: its channels, the parameters it needs, the languages it has.

The wording lives in files (adapters/templates.py renders them); this is what the rules and
request validation need to know about a template before anything is rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from notifications.domain.errors import MissingParameters, UnexpectedParameters

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
DEFAULT_LANGUAGE = "en"
# Provided by the service itself to every rendering; a request cannot set them.
CONTEXT_NAMES = frozenset({"customer_name", "contact_name"})


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    name: str
    channels: tuple[Channel, ...]
    params: tuple[str, ...] = ()
    optional_params: tuple[str, ...] = ()
    languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)

    def language_for(self, language: str | None) -> str:
        """The customer's language when the template has it, else English."""
        return language if language in self.languages else DEFAULT_LANGUAGE

    def check_params(self, given: Mapping[str, object]) -> None:
        """Refuse a request whose parameters would leave a hole in the message, or a typo."""
        missing = [name for name in self.params if name not in given]
        if missing:
            raise MissingParameters(self.name, missing)
        unexpected = sorted(set(given) - set(self.params) - set(self.optional_params))
        if unexpected:
            raise UnexpectedParameters(self.name, unexpected)

    def complete(self, given: Mapping[str, str]) -> dict[str, str]:
        """The parameters with every optional one present (empty when not given)."""
        return {**dict.fromkeys(self.optional_params, ""), **given}
