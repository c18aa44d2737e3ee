"""Requests that could never be answered well are refused at once with a 4xx: an instant UTC
cannot hold, a position the log has not reached, a body that never arrives, a secret too short
to sign with; and idempotency keys cost no memory once answered."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, SECRET, USER, new_customer
from tests.support.processes import embedded_server

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("as_of", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+14:00"])
async def test_an_instant_utc_cannot_hold_is_a_422(client: httpx.AsyncClient, as_of: str) -> None:
    created = await client.post("/v1/customers", json=new_customer(), headers=ADMIN)
    answer = await client.get(
        f"/v1/customers/{created.json()['id']}", params={"as_of": as_of}, headers=USER
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["type"].endswith("instant-out-of-range")


@pytest.mark.parametrize("url", ["/v1/customers", "/v1/equipment"])
async def test_a_position_beyond_the_log_is_refused_without_waiting(
    client: httpx.AsyncClient, url: str
) -> None:
    created = await client.post("/v1/customers", json=new_customer(), headers=ADMIN)
    beyond = created.json()["position"] + 1000
    began = time.monotonic()
    answer = await client.get(url, params={"min_position": beyond}, headers=USER)
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"].endswith("position-beyond-log")
    assert time.monotonic() - began < 1.0  # the freshness timeout is 2 s
    reached = await client.get(url, headers={**USER, "X-Min-Position": str(beyond - 1000)})
    assert reached.status_code == 200


async def test_idempotency_keys_leave_no_lock_behind(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    customer_id = ""
    for n in range(20):
        key = {"Idempotency-Key": str(uuid.uuid4())}
        body = new_customer(f"Boulangerie {n}")
        created = await client.post("/v1/customers", json=body, headers={**ADMIN, **key})
        customer_id = created.json()["id"]
        contact = {"name": "Claire", "email": "claire@martin.example", "main": True}
        await client.post(f"/v1/customers/{customer_id}/contacts", json=contact, headers=ADMIN)
        request = {"customer_id": customer_id, "template": "welcome", "params": {}}
        sent = await client.post("/v1/notifications", json=request, headers={**ADMIN, **key})
        assert sent.status_code < 500, sent.text  # 404 while its consumer catches up
        item = {"name": f"Chaudière {n}", "serial_number": f"S{n}"}
        registered = await client.post("/v1/equipment", json=item, headers={**USER, **key})
        assert registered.status_code == 201, registered.text
    assert len(app.state.customer_command._key_locks) == 0
    assert len(app.state.notifications._key_locks) == 0
    assert len(app.state.equipment._key_locks) == 0


def test_a_jwt_secret_shorter_than_32_bytes_is_refused_with_a_clear_message(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationError, match="CUSTOMERHUB_JWT_SECRET has 31 bytes"):
        Settings(data_dir=tmp_path, jwt_secret="x" * 31)
    env = {**os.environ, "CUSTOMERHUB_DATA_DIR": str(tmp_path), "CUSTOMERHUB_JWT_SECRET": "s3cr3t"}
    started = subprocess.run(
        [sys.executable, "-m", "customerhub.cli", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2
    assert "CUSTOMERHUB_JWT_SECRET has 6 bytes" in started.stderr
    assert "s3cr3t" not in started.stderr


def test_a_body_that_never_arrives_is_answered_408_and_the_connection_closed(
    tmp_path: Path,
) -> None:
    timeout = {"CUSTOMERHUB_REQUEST_BODY_TIMEOUT_SECONDS": "1"}
    with embedded_server(tmp_path, SECRET, extra_env=timeout) as (base, _):
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            head = (
                "POST /v1/customers HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: {ADMIN['Authorization']}\r\n"
                "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n"
            )
            connection.sendall(head.encode() + b'{"kind": "comp')
            began = time.monotonic()
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - began < 5


def test_an_acknowledged_create_survives_a_kill_9_right_after_its_201(tmp_path: Path) -> None:
    with embedded_server(tmp_path, SECRET) as (base, process):
        created = httpx.post(f"{base}/v1/customers", json=new_customer(), headers=ADMIN)
        assert created.status_code == 201, created.text
        process.send_signal(signal.SIGKILL)
        process.wait()
    with embedded_server(tmp_path, SECRET) as (base, _):
        customer_id = created.json()["id"]
        history = httpx.get(f"{base}/v1/customers/{customer_id}/history", headers=USER)
        assert history.status_code == 200, history.text
        assert [item["type"] for item in history.json()["items"]][-1].endswith("created.v1")
