"""Template files rendered with Jinja2: one folder per template, one per language inside.

    templates/<name>/manifest.toml   channels, params (required), optional_params
    templates/<name>/<lang>/subject.txt, body.txt, body.html   (email)
    templates/<name>/<lang>/sms.txt                             (sms)

HTML is autoescaped, text is not; an undefined variable is an error (StrictUndefined), and
requests are checked against the declared parameters before rendering, so a missing one is
refused at request time instead of leaving a hole in a message.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import cast

import jinja2

from notifications.application.ports import TemplateBroken, TemplateCatalogue
from notifications.domain.deliveries import Message
from notifications.domain.templates import (
    CHANNELS,
    CONTEXT_NAMES,
    DEFAULT_LANGUAGE,
    Channel,
    TemplateSpec,
)

_LANGUAGE_DIR = re.compile(r"[a-z]{2}\Z")
_FILES: dict[Channel, tuple[str, ...]] = {
    "email": ("subject.txt", "body.txt", "body.html"),
    "sms": ("sms.txt",),
}
_SPACES = re.compile(r"\s+")


def default_directory() -> Path:
    return Path(__file__).resolve().parent.parent / "templates"


class JinjaTemplates(TemplateCatalogue):
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_directory()
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.directory),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._specs = {spec.name: spec for spec in self._load_specs()}

    def _load_specs(self) -> list[TemplateSpec]:
        specs = []
        for manifest in sorted(self.directory.glob("*/manifest.toml")):
            folder = manifest.parent
            declared = tomllib.loads(manifest.read_text(encoding="utf-8"))
            languages = tuple(
                sorted(
                    p.name for p in folder.iterdir() if p.is_dir() and _LANGUAGE_DIR.match(p.name)
                )
            )
            channels = tuple(cast(Channel, c) for c in declared["channels"] if c in CHANNELS)
            spec = TemplateSpec(
                name=folder.name,
                channels=channels,
                params=tuple(declared.get("params", ())),
                optional_params=tuple(declared.get("optional_params", ())),
                languages=languages,
            )
            self._check_files(spec, declared)
            specs.append(spec)
        return specs

    def _check_files(self, spec: TemplateSpec, declared: Mapping[str, object]) -> None:
        """Fail at start-up, not at the first message: every language, every file there."""
        problems = []
        if DEFAULT_LANGUAGE not in spec.languages:
            problems.append(f"no {DEFAULT_LANGUAGE}/ folder (the fallback language)")
        if len(spec.channels) != len(declared.get("channels", ())):  # type: ignore[arg-type]
            problems.append(f"channels must be among {', '.join(CHANNELS)}")
        if clash := (set(spec.params) | set(spec.optional_params)) & CONTEXT_NAMES:
            problems.append(f"parameters may not be named {', '.join(sorted(clash))}")
        for language in spec.languages:
            for channel in spec.channels:
                for name in _FILES[channel]:
                    if not (self.directory / spec.name / language / name).is_file():
                        problems.append(f"{language}/{name} is missing")
        if problems:
            raise TemplateBroken(f"template {spec.name}: " + "; ".join(problems))

    def names(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, name: str) -> TemplateSpec | None:
        return self._specs.get(name)

    def render(
        self, spec: TemplateSpec, language: str, channel: Channel, context: Mapping[str, str]
    ) -> Message:
        folder = f"{spec.name}/{spec.language_for(language)}"
        try:
            if channel == "sms":
                return Message(text=self._render(f"{folder}/sms.txt", context).strip())
            subject = _SPACES.sub(" ", self._render(f"{folder}/subject.txt", context)).strip()
            return Message(
                subject=subject,  # one line: no header injection through a parameter
                text=self._render(f"{folder}/body.txt", context).strip() + "\n",
                html=self._render(f"{folder}/body.html", context),
            )
        except jinja2.TemplateError as error:
            raise TemplateBroken(f"{folder} ({channel}): {error}") from error

    def _render(self, path: str, context: Mapping[str, str]) -> str:
        return self._env.get_template(path).render(context)

    def check(self) -> None:
        """Render every template in every language with placeholder parameters."""
        for spec in self._specs.values():
            context = dict.fromkeys((*spec.params, *CONTEXT_NAMES), "x")
            context.update(dict.fromkeys(spec.optional_params, ""))
            for language in spec.languages:
                for channel in spec.channels:
                    self.render(spec, language, channel, context)
