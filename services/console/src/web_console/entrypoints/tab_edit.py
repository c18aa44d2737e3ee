"""A customer's contact or location, edited on its tab the If-Match way (`if_match.save`): the
customer's version goes with the change, and a contact or location removed meanwhile is said."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from fastapi.responses import Response

from web_console.entrypoints.customer import load_customer, page_path, show
from web_console.entrypoints.if_match import Editable, Record, RecordForm, save
from web_console.refusals import Refusal
from web_console.screens import Screen


def _as_named(errors: dict[str, str]) -> dict[str, str]:
    return errors


@dataclass(frozen=True)
class OnTab:
    tab: str  # also the customer's list of these records: "contacts", "locations"
    id_key: str  # "contact_id"
    gone: str  # the message key for one removed meanwhile
    editable: Editable
    # Where a refusal's messages stand, when the API names a field the form shows otherwise.
    beside: Callable[[dict[str, str]], dict[str, str]] = _as_named


async def save_on_tab(screen: Screen, on_tab: OnTab, customer_id: str, record_id: str) -> Response:
    async def current(refused: Refusal) -> Record | Response:
        answer = await load_customer(screen, customer_id)
        records = answer.body.get(on_tab.tab, []) if answer.ok else []
        record: Record | None = next((r for r in records if r[on_tab.id_key] == record_id), None)
        if record is None:  # removed meanwhile: nothing left to edit
            gone = screen.t(on_tab.gone)
            return await show(
                screen, customer_id, on_tab.tab, problem=gone, status_code=refused.status_code
            )
        return record

    async def show_form(form: RecordForm) -> Response:
        return await show(
            screen,
            customer_id,
            on_tab.tab,
            problem=form.problem,
            errors=on_tab.beside(form.errors),
            status_code=form.status_code,
            edit_form=form,
        )

    return await save(
        screen,
        on_tab.editable,
        path=f"/v1/customers/{customer_id}/{on_tab.tab}/{record_id}",
        back=partial(page_path, customer_id, on_tab.tab),
        current=current,
        show=show_form,
    )
