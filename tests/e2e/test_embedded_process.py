"""The embedded default as `make run` starts it: one real process, one port, data on disk."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.conftest import ADMIN, SECRET, USER, new_customer
from tests.support.processes import embedded_server


def test_embedded_server_serves_commands_and_keeps_them_across_restarts(tmp_path: Path) -> None:
    with embedded_server(tmp_path, SECRET) as (base, _):
        created = httpx.post(f"{base}/v1/customers", json=new_customer(), headers=ADMIN)
        assert created.status_code == 201, created.text
        customer = created.json()
        assert httpx.get(f"{base}/docs").status_code == 200
    assert (tmp_path / "events.db").exists()
    with embedded_server(tmp_path, SECRET) as (base, _):
        edited = httpx.patch(
            f"{base}/v1/customers/{customer['id']}",
            json={"region": "BE"},
            headers={**USER, "If-Match": "1"},
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["version"] == 2
        again = httpx.post(f"{base}/v1/customers", json=new_customer(), headers=ADMIN)
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
