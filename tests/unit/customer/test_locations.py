from __future__ import annotations

from uuid import uuid4

import pytest

from customer_command.domain import errors
from customer_command.domain.values import LocationPatch
from customerhub_shared.events.customer import (
    GeoPoint,
    LocationAdded,
    LocationChanged,
    LocationRemoved,
    MainLocationChosen,
)
from tests.unit.customer.builders import a_customer, new_location, recorded, with_location


def test_a_secondary_location_is_added_without_changing_the_main_one() -> None:
    customer = a_customer()
    main = customer.main_location_id
    location_id = uuid4()

    customer.add_location(location_id, new_location(geo={"latitude": 45.76, "longitude": 4.83}))

    assert recorded(customer) == [LocationAdded]
    assert customer.main_location_id == main
    assert customer.locations[location_id].city == "Lyon"
    assert customer.locations[location_id].geo == GeoPoint(latitude=45.76, longitude=4.83)


def test_a_location_added_as_main_becomes_the_main_location() -> None:
    customer = a_customer()
    location_id = uuid4()
    customer.add_location(location_id, new_location(main=True))
    assert recorded(customer) == [LocationAdded, MainLocationChosen]
    assert customer.main_location_id == location_id


def test_the_same_location_cannot_be_added_twice() -> None:
    customer = a_customer()
    location_id = with_location(customer)
    with pytest.raises(errors.LocationAlreadyExists):
        customer.add_location(location_id, new_location())


def test_main_location_cannot_be_removed() -> None:
    customer = a_customer()
    main = customer.main_location_id
    assert main is not None

    with pytest.raises(errors.MainLocationCannotBeRemoved):
        customer.remove_location(main)

    assert main in customer.locations


def test_the_old_main_location_can_be_removed_once_another_is_main() -> None:
    customer = a_customer()
    old_main = customer.main_location_id
    assert old_main is not None
    new_main = with_location(customer)

    customer.make_main_location(new_main)
    customer.remove_location(old_main)

    assert recorded(customer) == [MainLocationChosen, LocationRemoved]
    assert customer.main_location_id == new_main
    assert list(customer.locations) == [new_main]


def test_making_the_main_location_main_again_records_nothing() -> None:
    customer = a_customer()
    assert customer.main_location_id is not None
    customer.make_main_location(customer.main_location_id)
    assert customer.pending == []


@pytest.mark.parametrize("command", ["make_main_location", "remove_location"])
def test_an_unknown_location_is_refused(command: str) -> None:
    with pytest.raises(errors.LocationNotFound):
        getattr(a_customer(), command)(uuid4())


def test_changing_an_unknown_location_is_refused() -> None:
    with pytest.raises(errors.LocationNotFound):
        a_customer().change_location(uuid4(), LocationPatch(city="Lille"))


def test_change_location_records_only_what_changes() -> None:
    customer = a_customer()
    location_id = with_location(customer)

    customer.change_location(location_id, LocationPatch(city="Lyon", postal_code="69002"))

    [changed] = customer.pending
    assert isinstance(changed, LocationChanged)
    assert changed.changed == ("postal_code",)
    assert customer.locations[location_id].postal_code == "69002"


def test_a_location_cannot_lose_both_street_and_city() -> None:
    customer = a_customer()
    location_id = with_location(customer)

    with pytest.raises(errors.AddressIncomplete):
        customer.change_location(
            location_id, LocationPatch.model_validate({"street": None, "city": None})
        )

    customer.change_location(location_id, LocationPatch.model_validate({"street": None}))
    assert customer.locations[location_id].city == "Lyon"
    assert customer.locations[location_id].street is None
