"""Published event types stay backward compatible: the committed snapshot is the promise.

A breaking change to an existing type fails here; publish a new version of the type (`….v2`,
with an upcaster) instead. A compatible change (a new optional field, a new enum value, a new
type) passes, with a warning until the snapshot is refreshed:

    uv run python -m tests.contract.snapshot
"""

from __future__ import annotations

import warnings

from tests.contract.compatibility import breaking_changes
from tests.contract.snapshot import REFRESH_COMMAND, committed_schemas, current_schemas


def test_no_published_event_type_changed_incompatibly() -> None:
    problems = breaking_changes(committed_schemas(), current_schemas())
    assert not problems, (
        "event types changed incompatibly; publish a new version (….v2) with an upcaster"
        " instead:\n- " + "\n- ".join(problems)
    )


def test_the_snapshot_records_every_current_schema() -> None:
    committed, current = committed_schemas(), current_schemas()
    stale = sorted(name for name in current if committed.get(name) != current[name])
    if stale:
        warnings.warn(
            f"the event schema snapshot is behind for {', '.join(stale)}: these compatible"
            f" changes are not protected until it is refreshed with `{REFRESH_COMMAND}`",
            UserWarning,
            stacklevel=1,
        )
