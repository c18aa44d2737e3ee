"""The template files, rendered with Jinja2 as the service renders them."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifications.adapters.templates import JinjaTemplates
from notifications.application.ports import TemplateBroken
from notifications.domain.templates import CONTEXT_NAMES

TEMPLATES = JinjaTemplates()


@pytest.mark.parametrize("name", TEMPLATES.names())
@pytest.mark.parametrize("language", ["fr", "en", "de"])
def test_every_template_renders_in_every_language_on_each_of_its_channels(
    name: str, language: str
) -> None:
    spec = TEMPLATES.spec(name)
    assert spec is not None and language in spec.languages
    context = {p: f"<{p}>" for p in (*spec.params, *spec.optional_params, *CONTEXT_NAMES)}
    for channel in spec.channels:
        message = TEMPLATES.render(spec, language, channel, context)
        for param in spec.params:
            assert f"<{param}>" in message.text, f"{name}/{language}/{channel} omits {param}"
        if channel == "email":
            assert message.subject and "\n" not in message.subject
            assert message.html is not None and f'lang="{language}"' in message.html


def test_the_technician_on_the_way_reads_naturally_in_each_language() -> None:
    spec = TEMPLATES.spec("technician_en_route")
    assert spec is not None and spec.channels == ("email", "sms")
    context = {"technician": "Marc", "eta": "14:30", "customer_name": "Martin", "contact_name": "C"}
    texts = {lang: TEMPLATES.render(spec, lang, "sms", context).text for lang in ("fr", "en", "de")}
    assert texts == {
        "fr": "Marc est en route et devrait arriver vers 14:30.",
        "en": "Marc is on the way and should arrive around 14:30.",
        "de": "Marc ist unterwegs und trifft voraussichtlich gegen 14:30 ein.",
    }
    # A language without files falls back to English.
    assert TEMPLATES.render(spec, "es", "sms", context).text == texts["en"]


def test_html_is_autoescaped_and_text_is_not() -> None:
    spec = TEMPLATES.spec("technician_en_route")
    assert spec is not None
    hostile = {"technician": "<b>Marc</b> & co", "eta": "14:30"}
    context = {**hostile, "customer_name": "Martin", "contact_name": "Claire"}
    message = TEMPLATES.render(spec, "en", "email", context)
    assert message.html is not None
    assert "&lt;b&gt;Marc&lt;/b&gt; &amp; co" in message.html and "<b>Marc</b>" not in message.html
    assert "<b>Marc</b> & co is on the way" in message.text


def test_a_subject_stays_on_one_line_whatever_a_parameter_holds() -> None:
    spec = TEMPLATES.spec("equipment_assigned")
    assert spec is not None
    context = {
        "equipment": "Four\r\nBcc: victim@example.com",
        "serial_number": "",
        "customer_name": "Martin",
        "contact_name": "Claire",
    }
    subject = TEMPLATES.render(spec, "en", "email", context).subject
    assert subject == "New equipment for Martin: Four Bcc: victim@example.com"


def test_a_missing_variable_is_an_error_never_a_hole_in_the_message() -> None:
    spec = TEMPLATES.spec("technician_en_route")
    assert spec is not None
    with pytest.raises(TemplateBroken, match="eta"):
        TEMPLATES.render(spec, "fr", "sms", {"technician": "Marc"})


def test_a_template_folder_without_its_files_is_refused_at_start_up(tmp_path: Path) -> None:
    folder = tmp_path / "reminder"
    (folder / "en").mkdir(parents=True)
    (folder / "fr").mkdir()
    (folder / "manifest.toml").write_text('channels = ["sms"]\nparams = ["day"]\n')
    (folder / "en" / "sms.txt").write_text("See you {{ day }}")
    with pytest.raises(TemplateBroken, match="fr/sms.txt is missing"):
        JinjaTemplates(tmp_path)
