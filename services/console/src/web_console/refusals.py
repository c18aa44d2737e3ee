"""What a refused form says: the banner above it and the messages beside its fields. A 422
whose errors name fields gets a banner in the person's language, since the API's own detail
then only says the body did not match its schema; any other refusal keeps the API's detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse

from web_console.api import Answer
from web_console.i18n import Translator
from web_console.screens import Screen

FORM_WIDE = "_form"  # an error that names no field (`Answer.field_errors`)


@dataclass(frozen=True)
class Refusal:
    problem: str
    errors: dict[str, str]
    status_code: int


def refusal(t: Translator, answer: Answer, *, changed_meanwhile: str | None = None) -> Refusal:
    """`changed_meanwhile`: the message key for a 412 (the version this person saw is old)."""
    errors = answer.field_errors()
    if answer.status == 412 and changed_meanwhile:
        problem = t(changed_meanwhile)
    elif answer.status == 422 and errors.keys() - {FORM_WIDE}:
        problem = t("form.correct_fields")
    else:
        problem = answer.reason
    return Refusal(problem, errors, answer.status if answer.status < 500 else 502)


def render_form(
    screen: Screen, template: str, refused: Refusal | None, **context: Any
) -> HTMLResponse:
    """A form's page; after a refusal, with its banner, its messages and its status."""
    if refused is None:
        return screen.render(template, problem=None, errors={}, **context)
    return screen.render(
        template,
        status_code=refused.status_code,
        problem=refused.problem,
        errors=refused.errors,
        **context,
    )
