from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from customer_command.domain.values import (
    Address,
    ContactPatch,
    CustomerPatch,
    LocationPatch,
    NewContact,
    NewRelation,
)
from tests.unit.customer.builders import new_contact, new_customer


def test_phone_is_stored_in_e164() -> None:
    assert new_customer(phone="+33 1 40 00 00 00").phone == "+33140000000"
    assert new_customer(phone=" +32 2 555 12 12 ").phone == "+3225551212"


@pytest.mark.parametrize("phone", ["01 40 00 00 00", "call me", "+33 1", "+1 555 000 0000"])
def test_phone_without_valid_international_number_is_refused(phone: str) -> None:
    with pytest.raises(ValidationError, match=r"valid international number, e\.g\. \+33 1 40"):
        new_customer(phone=phone)


def test_email_is_normalised() -> None:
    assert new_customer(email=" Claire@MARTIN.Example ").email == "Claire@martin.example"


@pytest.mark.parametrize("email", ["martin.example", "claire@", "claire@@martin.example"])
def test_invalid_email_is_refused(email: str) -> None:
    with pytest.raises(ValidationError, match="email must be a valid address"):
        new_customer(email=email)


@pytest.mark.parametrize("discount", ["0", "12.5", "100"])
def test_discount_between_0_and_100_is_accepted(discount: str) -> None:
    assert new_customer(discount_percent=discount).discount_percent == Decimal(discount)


@pytest.mark.parametrize("discount", ["-1", "100.01", "12.345"])
def test_discount_out_of_range_is_refused(discount: str) -> None:
    with pytest.raises(ValidationError, match="discount_percent"):
        new_customer(discount_percent=discount)


@pytest.mark.parametrize(
    "model, fields",
    [
        (CustomerPatch, {"name": "Martin", "colour": "red"}),
        (ContactPatch, {"name": "Claire", "age": 40}),
        (LocationPatch, {"city": "Paris", "floor": 2}),
        (NewRelation, {"other_customer_id": "6f1c5d3e-0000-4000-8000-000000000000", "x": 1}),
    ],
)
def test_unknown_field_is_rejected(model: type[BaseModel], fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        model.model_validate(fields)


def test_new_customer_rejects_unknown_field() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        new_customer(vat_number="FR123")


@pytest.mark.parametrize("patch", [CustomerPatch, ContactPatch, LocationPatch])
def test_empty_patch_is_refused(patch: type[BaseModel]) -> None:
    with pytest.raises(ValidationError, match="at least one field"):
        patch.model_validate({})


@pytest.mark.parametrize("field", ["name", "language", "segment", "custom_fields"])
def test_customer_patch_cannot_clear_what_a_customer_needs(field: str) -> None:
    with pytest.raises(ValidationError, match=f"{field} cannot be cleared"):
        CustomerPatch.model_validate({field: None})


def test_customer_patch_may_clear_optional_fields() -> None:
    patch = CustomerPatch.model_validate({"note": None, "email": None})
    assert patch.model_fields_set == {"note", "email"}
    assert patch.note is None


def test_contact_patch_cannot_clear_the_name() -> None:
    with pytest.raises(ValidationError, match="name cannot be cleared"):
        ContactPatch.model_validate({"name": None})


def test_name_is_required_stripped_and_bounded() -> None:
    assert new_customer(name="  Boulangerie Martin  ").name == "Boulangerie Martin"
    with pytest.raises(ValidationError, match="name"):
        new_customer(name="   ")
    with pytest.raises(ValidationError, match="at most 200 characters"):
        new_customer(name="x" * 201)


def test_note_may_be_long_but_not_endless() -> None:
    assert new_customer(note="n" * 5000).note == "n" * 5000
    with pytest.raises(ValidationError, match="at most 5000 characters"):
        new_customer(note="n" * 5001)


def test_a_new_customer_is_a_customer_by_default() -> None:
    assert new_customer().roles == ("customer",)
    assert new_customer().segment == "other"


def test_a_new_customer_cannot_be_both_prospect_and_customer() -> None:
    with pytest.raises(ValidationError, match="cannot also be a prospect"):
        new_customer(roles=["prospect", "customer"])


def test_roles_and_labels_are_deduplicated() -> None:
    customer = new_customer(roles=["supplier", "customer", "supplier"], labels=["vip", "vip"])
    assert customer.roles == ("supplier", "customer")
    assert customer.labels == ("vip",)


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValidationError, match="roles"):
        new_customer(roles=["partner"])


def test_label_longer_than_50_characters_is_refused() -> None:
    with pytest.raises(ValidationError, match="at most 50 characters"):
        new_customer(labels=["x" * 51])


def test_language_region_and_country_codes_are_normalised() -> None:
    customer = new_customer(
        language="FR", region="ca-qc", main_location={"city": "Québec", "country": "ca"}
    )
    assert (customer.language, customer.region) == ("fr", "CA-QC")
    assert customer.main_location.country == "CA"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"language": "fra"}, "ISO 639-1"),
        ({"region": "Ile-de-France"}, "e.g. FR-IDF"),
        ({"main_location": {"city": "Paris", "country": "FRA"}}, "ISO 3166-1"),
    ],
)
def test_malformed_codes_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        new_customer(**fields)


def test_address_needs_a_street_or_a_city() -> None:
    with pytest.raises(ValidationError, match="at least a street or a city"):
        Address(postal_code="75002", country="FR")
    assert Address(street="12 rue de la Paix").street == "12 rue de la Paix"


@pytest.mark.parametrize(
    "geo", [{"latitude": 91, "longitude": 0}, {"latitude": 0, "longitude": -181}]
)
def test_geolocation_off_the_earth_is_refused(geo: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="must be between"):
        Address.model_validate({"city": "Paris", "geo": geo})


def test_geolocation_is_kept() -> None:
    address = Address.model_validate(
        {"city": "Paris", "geo": {"latitude": 48.87, "longitude": 2.33}}
    )
    assert address.geo is not None
    assert (address.geo.latitude, address.geo.longitude) == (48.87, 2.33)


def test_contact_opting_into_email_needs_an_email() -> None:
    with pytest.raises(ValidationError, match="email notifications needs an email address"):
        new_contact(email=None, notify={"email": True})


def test_contact_opting_into_sms_needs_a_phone() -> None:
    with pytest.raises(ValidationError, match="sms notifications needs a phone number"):
        new_contact(phone=None, notify={"email": False, "sms": True})


def test_contact_opts_into_nothing_by_default() -> None:
    contact = NewContact(name="Claire Martin")
    assert (contact.notify.email, contact.notify.sms) == (False, False)
    assert (contact.main, contact.equipment_alerts) == (False, False)


def test_custom_fields_hold_simple_values_and_at_most_50_keys() -> None:
    fields = {"since": "2019", "visits": 3, "rating": 4.5, "vip": True, "fax": None}
    assert new_customer(custom_fields=fields).custom_fields == fields
    with pytest.raises(ValidationError, match="custom_fields"):
        new_customer(custom_fields={"tags": ["a", "b"]})
    with pytest.raises(ValidationError, match="at most 50 items"):
        new_customer(custom_fields={f"field{n}": n for n in range(51)})


def test_a_relation_is_plain_related_by_default() -> None:
    relation = NewRelation.model_validate(
        {"other_customer_id": "6f1c5d3e-0000-4000-8000-000000000000"}
    )
    assert relation.relation == "related"


def test_inputs_are_frozen() -> None:
    customer = new_customer()
    with pytest.raises(ValidationError, match="frozen"):
        customer.name = "Autre"  # type: ignore[misc]
