"""schemathesis hooks (SCHEMATHESIS_HOOKS=tests.support.conformance_hooks): path parameters
name, half of the time, a customer or item that exists, so the conformance run reaches
answers beyond 404 (a customer's document, refusals of its current state, 412, 410)."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

KNOWN = {
    "customer_id": "CUSTOMERHUB_CONFORMANCE_CUSTOMERS",
    "other_id": "CUSTOMERHUB_CONFORMANCE_CUSTOMERS",
    "equipment_id": "CUSTOMERHUB_CONFORMANCE_EQUIPMENT",
    "contact_id": "CUSTOMERHUB_CONFORMANCE_CONTACTS",
    "location_id": "CUSTOMERHUB_CONFORMANCE_LOCATIONS",
}


def _known(parameter: str) -> list[str]:
    return [v for v in os.environ.get(KNOWN[parameter], "").split(",") if v]


@schemathesis.hook
def flatmap_path_parameters(ctx: Any, path_parameters: dict[str, Any] | None) -> Any:
    if not path_parameters:
        return st.just(path_parameters)
    known = {name: _known(name) for name in path_parameters if name in KNOWN and _known(name)}
    if not known:
        return st.just(path_parameters)
    existing = st.fixed_dictionaries({name: st.sampled_from(ids) for name, ids in known.items()})
    return st.one_of(st.just(path_parameters), existing.map(lambda ids: {**path_parameters, **ids}))
