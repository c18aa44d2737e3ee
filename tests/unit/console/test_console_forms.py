"""What a refused form says above its fields, what an edit sends, and equipment types as
people read them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.datastructures import FormData

from web_console.api import Answer
from web_console.entrypoints.contact_edit import CONTACT
from web_console.entrypoints.editing import CUSTOMER
from web_console.entrypoints.registry import ITEM
from web_console.equipment_types import type_label
from web_console.i18n import Translator
from web_console.refusals import refusal

SCHEMA = "the request does not match the expected schema"


def invalid(*errors: dict[str, Any]) -> Answer:
    return Answer(422, {"title": "Invalid request", "detail": SCHEMA, "errors": list(errors)})


@pytest.mark.parametrize(
    ("locale", "banner"),
    [
        ("en", "Correct the fields marked below."),
        ("fr", "Corrigez les champs signalés ci-dessous."),
        ("de", "Bitte korrigieren Sie die unten markierten Felder."),
    ],
)
def test_a_422_on_fields_says_to_correct_them_in_the_person_s_language(
    locale: str, banner: str
) -> None:
    refused = refusal(
        Translator(locale),
        invalid({"loc": ["body", "email"], "msg": "Value error, email must be a valid address"}),
    )
    assert refused.problem == banner
    assert refused.errors == {"email": "email must be a valid address"}
    assert refused.status_code == 422


def test_a_refusal_that_names_no_field_keeps_the_api_s_detail() -> None:
    en = Translator("en")
    form_wide = invalid({"loc": ["body"], "msg": "a patch must name at least one field"})
    assert refusal(en, form_wide).problem == SCHEMA
    assert refusal(en, form_wide).errors == {"_form": "a patch must name at least one field"}
    opt_in = Answer(422, {"title": "Invalid command", "detail": "needs a phone number"})
    assert refusal(en, opt_in).problem == "needs a phone number"
    assert refusal(en, Answer(409, {"detail": "equipment is linked"})).problem == (
        "equipment is linked"
    )


def test_a_412_says_the_record_changed_meanwhile_and_a_server_failure_is_a_502() -> None:
    fr = Translator("fr")
    stale = Answer(412, {"title": "Precondition Failed", "detail": "version 3 is not current"})
    assert refusal(fr, stale, changed_meanwhile="edit.changed_meanwhile").problem == fr(
        "edit.changed_meanwhile"
    )
    assert refusal(fr, stale).problem == "version 3 is not current"
    assert refusal(fr, Answer(503, {"title": "Service Unavailable"})).status_code == 502


def test_an_edit_sends_what_changed_with_emptied_texts_cleared_and_boxes_as_booleans() -> None:
    form = FormData([("name", "  Garage Dupont "), ("note", " "), ("show_note_on_selection", "x")])
    entered = CUSTOMER.entered(form)
    assert entered["name"] == "Garage Dupont" and entered["show_note_on_selection"] == ""
    assert CUSTOMER.body(entered, ["name", "note", "show_note_on_selection"]) == {
        "name": "Garage Dupont",
        "note": None,
        "show_note_on_selection": False,
    }
    checked = CUSTOMER.entered(FormData([("show_note_on_selection", "on")]))
    assert CUSTOMER.body(checked, ["show_note_on_selection"]) == {"show_note_on_selection": True}
    assert ITEM.body(ITEM.entered(FormData([("brand", "")])), ["brand"]) == {"brand": None}


def test_a_contact_edit_sends_its_opt_ins_together_as_notify() -> None:
    entered = CONTACT.editable.entered(FormData([("name", "Léa"), ("notify_sms", "on")]))
    assert CONTACT.editable.body(entered, ["notify_sms"]) == {
        "notify": {"email": False, "sms": True}
    }


@pytest.mark.parametrize(
    ("locale", "typed", "shown"),
    [
        ("en", "boiler", "Boiler"),
        ("fr", "boiler", "Chaudière"),
        ("de", "boiler", "Heizkessel"),
        ("fr", "heat pump", "Pompe à chaleur"),
        ("de", "Heat-Pump", "Wärmepumpe"),
        ("en", "heat_pump", "Heat pump"),
        ("fr", "cuve à fioul", "cuve à fioul"),
        ("en", "", ""),
        ("en", None, ""),
    ],
)
def test_equipment_types_are_shown_in_the_person_s_language_or_as_typed(
    locale: str, typed: str | None, shown: str
) -> None:
    assert type_label(Translator(locale), typed) == shown
