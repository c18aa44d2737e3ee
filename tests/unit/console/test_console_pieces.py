"""The console's small rules: where a refusal is shown, where a sign-in may lead back to, what
a token says about the person."""

from __future__ import annotations

import time

import jwt
from starlette.requests import Request

from web_console.api import Answer, service_of
from web_console.entrypoints.equipment_list import chosen_filters
from web_console.entrypoints.location_edit import beside_fields, location_patch
from web_console.entrypoints.sign_in import _inside
from web_console.oidc import Transaction
from web_console.session import SESSION_COOKIE, roles_at, viewer_of


def test_a_refusal_s_errors_are_shown_beside_the_fields_they_name() -> None:
    refused = Answer(
        422,
        {
            "title": "Invalid request",
            "errors": [
                {"loc": ["body", "email"], "msg": "Value error, email must be a valid address"},
                {"loc": ["body", "main_location", "street"], "msg": "too long"},
                {"loc": ["body"], "msg": "a patch must name at least one field to change"},
            ],
        },
    )
    assert refused.field_errors() == {
        "email": "email must be a valid address",
        "main_location.street": "too long",
        "_form": "a patch must name at least one field to change",
    }
    assert Answer(409, {"title": "Conflict", "detail": "equipment is linked"}).reason == (
        "equipment is linked"
    )


def test_signing_in_only_leads_back_into_the_console() -> None:
    assert _inside("/console/customers/1?tab=history") == "/console/customers/1?tab=history"
    for elsewhere in ("https://evil.example/", "//evil.example/console/", "/v1/customers", None):
        assert _inside(elsewhere) == "/console/customers"


def request_with(token: str) -> Request:
    cookie = f"{SESSION_COOKIE}={token}".encode()
    return Request({"type": "http", "headers": [(b"cookie", cookie)]})


def test_the_viewer_is_read_from_the_token_and_an_expired_one_signs_out() -> None:
    fresh = jwt.encode({"sub": "bob", "roles": ["user"], "exp": time.time() + 60}, "k" * 32)
    viewer = viewer_of(request_with(fresh))
    assert viewer is not None and viewer.name == "bob" and not viewer.is_admin
    stale = jwt.encode({"sub": "bob", "roles": ["admin"], "exp": time.time() - 1}, "k" * 32)
    assert viewer_of(request_with(stale)) is None
    assert viewer_of(request_with("not-a-token")) is None


def test_roles_may_sit_at_a_dotted_path_as_identity_providers_put_them() -> None:
    assert roles_at({"realm_access": {"roles": ["admin"]}}, "realm_access.roles") == ("admin",)
    assert roles_at({"scope": "user admin"}, "scope") == ("user", "admin")
    assert roles_at({}, "roles") == ()


def test_the_sign_in_transaction_survives_its_cookie_and_a_broken_one_is_none() -> None:
    begun = Transaction.begin("/console/customers")
    assert Transaction.from_cookie(begun.cookie()) == begun
    assert len(begun.challenge) == 43 and begun.challenge != begun.verifier
    assert Transaction.from_cookie("bm90IGpzb24") is None
    assert Transaction.from_cookie(None) is None


def test_attachments_are_read_from_customer_command_which_keeps_them() -> None:
    customer = "/v1/customers/6f1c0000-0000-0000-0000-000000000001"
    assert service_of("GET", customer + "/attachments") == "command"
    assert service_of("GET", customer + "/attachments/6f1c0000-0000-0000-0000-000000000002") == (
        "command"
    )
    assert service_of("GET", customer) == "query"
    assert service_of("GET", customer + "/history") == "query"


def test_a_location_edit_sends_its_changes_and_both_coordinates_together() -> None:
    entered = {
        "label": "",
        "street": "8 rue Rambuteau",
        "postal_code": "",
        "city": "Paris",
        "country": "FR",
        "latitude": "48.86",
        "longitude": "",
    }
    assert location_patch(entered, ["street", "label"]) == {
        "street": "8 rue Rambuteau",
        "label": None,
    }
    assert location_patch(entered, ["latitude"]) == {
        "geo": {"latitude": "48.86", "longitude": None}
    }
    cleared = {**entered, "latitude": ""}
    assert location_patch(cleared, ["latitude"]) == {"geo": None}


def test_a_refused_point_is_shown_beside_the_coordinate_it_names() -> None:
    assert beside_fields({"geo.latitude": "not a number"}) == {"latitude": "not a number"}
    off = "longitude must be between -180 and 180"
    assert beside_fields({"geo": off, "city": "too long"}) == {"longitude": off, "city": "too long"}
    assert beside_fields({"geo": "off the map"}) == {"latitude": "off the map"}


def test_the_equipment_list_asks_the_api_only_for_the_filters_it_takes() -> None:
    owner = "9fd9e502-1229-41db-bfc0-25b889fc1644"
    asked = {"q": " pompe ", "business_unit": "", "customer_id": owner, "sort": "name"}
    assert chosen_filters(asked) == {"q": "pompe", "customer_id": owner}
    assert chosen_filters({"customer_id": "../customers", "business_unit": "Nord"}) == {
        "business_unit": "Nord"
    }
