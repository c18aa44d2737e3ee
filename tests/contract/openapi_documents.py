"""The OpenAPI documents of every service, and the committed snapshot of their operation ids.

    uv run python -m tests.contract.openapi_documents     # refresh after adding a route

Generated clients name their methods after operation ids: renaming one breaks every client,
so a change to an existing id must be deliberate (an added route only adds a line).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

import customer_command.bootstrap as customer_command
import customer_query.bootstrap as customer_query
import equipment.bootstrap as equipment
import notifications.bootstrap as notifications
from customerhub import app as embedded
from customerhub import write_side
from customerhub_shared.settings import Settings

SNAPSHOT = Path(__file__).with_name("openapi_operations.snapshot.json")
REFRESH_COMMAND = "uv run python -m tests.contract.openapi_documents"

APPS: dict[str, Callable[[Settings], FastAPI]] = {
    "embedded": embedded.create_app,
    "write-side": write_side.create_app,
    "customer-command": customer_command.create_app,
    "customer-query": customer_query.create_app,
    "equipment": equipment.create_app,
    "notifications": notifications.create_app,
}


def document(service: str, data_dir: Path) -> dict[str, Any]:
    """The service's document as a client downloads it (no lifespan needed to build it)."""
    app = APPS[service](
        Settings(data_dir=data_dir, jwt_secret="unused-for-documents-0123456789abcdef")
    )
    built: dict[str, Any] = json.loads(json.dumps(app.openapi()))
    return built


def operations(doc: dict[str, Any]) -> dict[str, str]:
    """operationId → "METHOD /path"."""
    return {
        operation["operationId"]: f"{method.upper()} {path}"
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    }


def current_operations(data_dir: Path) -> dict[str, dict[str, str]]:
    return {
        service: dict(sorted(operations(document(service, data_dir)).items())) for service in APPS
    }


def committed_operations() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return loaded


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        rendered = json.dumps(current_operations(Path(scratch)), indent=2) + "\n"
    SNAPSHOT.write_text(rendered, encoding="utf-8")
