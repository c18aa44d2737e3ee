"""The committed snapshot of the published event schemas, and how to refresh it.

    uv run python -m tests.contract.snapshot          # refresh after a compatible change
    uv run python -m tests.contract.snapshot --unreleased customerhub.equipment.registered.v1

Refreshing refuses to record a breaking change: an existing type must keep its schema
compatible; breaking changes are a new version of the type (`….v2`) with an upcaster. Only a
type that was never released (no stored events anywhere, no consumer) may be re-baselined,
by naming it with `--unreleased`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from customerhub_shared.events import default_registry
from customerhub_shared.events.schemas import event_schemas
from tests.contract.compatibility import breaking_changes

SNAPSHOT = Path(__file__).with_name("event_schemas.snapshot.json")
REFRESH_COMMAND = "uv run python -m tests.contract.snapshot"


def current_schemas() -> dict[str, Any]:
    """Today's schemas exactly as a JSON round trip gives them (tuples become lists)."""
    loaded: dict[str, Any] = json.loads(json.dumps(event_schemas(default_registry())))
    return loaded


def committed_schemas() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return loaded


def render(schemas: dict[str, Any]) -> str:
    return json.dumps(schemas, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--unreleased",
        action="append",
        default=[],
        metavar="TYPE",
        help="a type never released: forget its old schema before the check (repeatable)",
    )
    args = parser.parse_args(argv)
    current = current_schemas()
    if SNAPSHOT.exists():
        committed = committed_schemas()
        for type_name in args.unreleased:
            committed.pop(type_name, None)
        problems = breaking_changes(committed, current)
        if problems:
            sys.stderr.write(
                "refusing to refresh: these changes break the published contract; publish a new"
                " version of the type (….v2) with an upcaster instead:\n- "
                + "\n- ".join(problems)
                + "\n"
            )
            return 1
    SNAPSHOT.write_text(render(current), encoding="utf-8")
    sys.stdout.write(f"wrote {SNAPSHOT} ({len(current)} event types)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
