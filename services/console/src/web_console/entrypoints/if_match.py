"""Editing a record with If-Match, one way for a customer, an equipment item and a customer's
contact or location: the form starts from the record as it is; only what this person changed is
sent, with the version they saw; a refusal (412 changed meanwhile, 409, 422) shows the form again
over the record as it is now, with this person's changes on top and the messages beside them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import Response
from starlette.datastructures import FormData

from web_console.api import Answer
from web_console.refusals import Refusal, refusal
from web_console.screens import Screen, see_other

Record = dict[str, Any]
Values = dict[str, str]


@dataclass(frozen=True)
class Editable:
    """What differs from one kind of record to another."""

    fields: tuple[str, ...]
    values: Callable[[Record], Values]  # a record's fields as its form shows them
    changed_meanwhile: str  # the message key for a 412
    checks: tuple[str, ...] = ()  # the check boxes among the fields: "on" or ""
    # The changed fields as the API names them; by default an emptied text clears it (null).
    patch: Callable[[Values, list[str]], dict[str, Any]] | None = None

    def entered(self, form: FormData) -> Values:
        texts = {name: str(form.get(name, "")).strip() for name in self.fields}
        return texts | {name: "on" if form.get(name) == "on" else "" for name in self.checks}

    def body(self, entered: Values, changed: list[str]) -> dict[str, Any]:
        if self.patch is not None:
            return self.patch(entered, changed)
        return {
            name: entered[name] == "on" if name in self.checks else entered[name] or None
            for name in changed
        }

    def start(self, record: Record) -> RecordForm:
        values = self.values(record)
        return RecordForm(record, values, values)


@dataclass(frozen=True)
class RecordForm:
    """A record's form: the record (None for a new one), the values shown, those it started
    from (posted back as `was.<field>`, to tell what this person changed), and the refusal
    it answers."""

    record: Record | None
    values: Values
    was: Values = field(default_factory=dict)
    refusal: Refusal | None = None

    @property
    def problem(self) -> str | None:
        return self.refusal.problem if self.refusal else None

    @property
    def errors(self) -> dict[str, str]:
        return self.refusal.errors if self.refusal else {}

    @property
    def status_code(self) -> int:
        return self.refusal.status_code if self.refusal else 200


# The record as it is now, or the page to show instead (it is gone); given the save's refusal.
Current = Callable[[Refusal], Awaitable[Record | Response]]
ShowForm = Callable[[RecordForm], Awaitable[Response]]


async def save(
    screen: Screen,
    editable: Editable,
    *,
    path: str,
    back: Callable[[Any], str],
    current: Current,
    show: ShowForm,
) -> Response:
    """PATCH `path` with what changed; `back(position)` is where a save (or no change) goes."""
    form = await screen.form()
    entered = editable.entered(form)
    was = {name: str(form.get(f"was.{name}", "")) for name in editable.fields}
    changed = [name for name in editable.fields if entered[name] != was[name]]
    if not changed:
        return see_other(back(None))
    version = str(form.get("version", ""))
    answer = await screen.call(
        "PATCH",
        path,
        json=editable.body(entered, changed),
        headers={"If-Match": version} if version.isdigit() else {},
    )
    if answer.ok:
        return see_other(back(answer.body.get("position")))
    refused = refusal(screen.t, answer, changed_meanwhile=editable.changed_meanwhile)
    now = await current(refused)
    if isinstance(now, Response):
        return now
    now_values = editable.values(now)
    values = now_values | {name: entered[name] for name in changed}
    return await show(RecordForm(now, values, now_values, refused))


def found_or_message(screen: Screen, answer: Answer) -> Record | Response:
    """The record a GET answered, or the page saying why there is none."""
    if answer.ok:
        record: Record = answer.body
        return record
    return screen.render("message.html", status_code=answer.status, message=answer.reason)


async def open_form(screen: Screen, editable: Editable, answer: Answer, show: ShowForm) -> Response:
    """The edit form over the record a GET answered."""
    record = found_or_message(screen, answer)
    return record if isinstance(record, Response) else await show(editable.start(record))


def fetched(screen: Screen, path: str) -> Current:
    """The record at `path` as it is now, read again after a refusal."""

    async def current(_: Refusal) -> Record | Response:
        return found_or_message(screen, await screen.call("GET", path))

    return current
