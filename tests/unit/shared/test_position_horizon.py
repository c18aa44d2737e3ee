from __future__ import annotations

from customerhub_shared.eventstore.horizon import Horizon, Sighting


def sighting(allocated: int, *appending: str) -> Sighting:
    return Sighting(allocated=allocated, appending=frozenset(appending))


def test_with_nobody_appending_everything_handed_out_is_readable() -> None:
    assert Horizon().advance(sighting(5)) == 5


def test_a_sighting_waits_until_everyone_appending_then_has_ended() -> None:
    horizon = Horizon()
    assert horizon.advance(sighting(5, "3/10", "4/7")) == 0
    assert horizon.advance(sighting(6, "4/7", "5/2")) == 0
    assert horizon.advance(sighting(8, "5/2")) == 5
    assert horizon.advance(sighting(9)) == 9


def test_a_transaction_held_open_holds_the_horizon_below_its_position() -> None:
    horizon = Horizon()
    horizon.advance(sighting(3))
    for allocated in range(4, 40):
        assert horizon.advance(sighting(allocated, "7/1", f"8/{allocated}")) == 3
    assert horizon.advance(sighting(41, "9/1")) == 39


def test_the_horizon_never_goes_back() -> None:
    horizon = Horizon()
    horizon.advance(sighting(10))
    assert horizon.advance(sighting(4)) == 10
