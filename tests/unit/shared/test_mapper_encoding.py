"""Events are stored in the bytes `json.dumps(separators=(",", ":"), ensure_ascii=False)` gives,
however they are encoded: the relay rebuilds stored bytes from a CloudEvent's data with the
same function, and hash chains cover those bytes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from customerhub_shared.mapper import dump_json


def _as_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400)
@given(_VALUES)
def test_any_json_value_is_encoded_as_json_dumps_encodes_it(value: Any) -> None:
    assert dump_json(value) == _as_json(value)


@settings(max_examples=400)
@given(
    st.lists(
        st.floats(min_value=-1e-3, max_value=1e-3) | st.floats(min_value=1e14, allow_infinity=False)
    )
)
def test_floats_near_the_exponent_form_are_encoded_as_json_dumps_encodes_them(
    values: list[float],
) -> None:
    assert dump_json({"geo": values}) == _as_json({"geo": values})


def test_the_values_orjson_writes_otherwise_take_json_dumps() -> None:
    awkward = [
        {"latitude": 1e-05, "longitude": -0.00001234},  # json: exponent form
        {"note": "0.00001 in a string", "id": "0b8e6a3c-1d2e-4f5a-9b8c-7d6e5f4a3b2c"},
        [1e-5, 5.960464477539063e-8, -2.5e-9, 0.0001, 1.5e-10],
        {"count": 2**70},  # beyond orjson's integers
        {1: "a key that is not a string"},
        {"name": "Zoë \u2028 \x00 \x1f \x7f 😀", "tab": "\t", "quote": '"\\'},
        {"big": 1e16, "small": 1e-4, "zero": -0.0},
    ]
    for value in awkward:
        assert dump_json(value) == _as_json(value)
