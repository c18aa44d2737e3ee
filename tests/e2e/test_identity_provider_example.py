"""The README's production token example, as processes: `examples/local_identity_provider.py`
publishes a JWKS, `customerhub run` trusts it, and a key rotated by the README's procedure."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.e2e.conftest import SECRET, new_customer
from tests.support.processes import embedded_server, free_port, wait_until_serving

CACHE_SECONDS = 2


@pytest.fixture
def identity_provider() -> Iterator[str]:
    port = free_port()
    script = REPO / "examples" / "local_identity_provider.py"
    process = subprocess.Popen(
        [sys.executable, str(script), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/certs", process, timeout=20)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def bearer(idp: str, roles: str) -> dict[str, str]:
    token = httpx.get(f"{idp}/token", params={"sub": "alice", "roles": roles}).text
    return {"Authorization": f"Bearer {token}"}


def test_the_readme_example_serves_tokens_of_a_local_identity_provider_across_a_rotation(
    identity_provider: str, tmp_path: Path
) -> None:
    idp = identity_provider
    settings = {
        "CUSTOMERHUB_JWKS_URL": f"{idp}/certs",
        "CUSTOMERHUB_JWT_ISSUER": idp,
        "CUSTOMERHUB_JWT_AUDIENCE": "customerhub",
        "CUSTOMERHUB_JWT_ROLES_CLAIM": "realm_access.roles",
        "CUSTOMERHUB_JWKS_CACHE_SECONDS": str(CACHE_SECONDS),
    }
    with embedded_server(tmp_path, SECRET, extra_env=settings) as (base, _):
        admin, user = bearer(idp, "admin"), bearer(idp, "user")
        created = httpx.post(f"{base}/v1/customers", json=new_customer(), headers=admin)
        assert created.status_code == 201, created.text
        refused = httpx.post(f"{base}/v1/customers", json=new_customer("Autre"), headers=user)
        assert refused.status_code == 403, "roles come from realm_access.roles"

        httpx.post(f"{idp}/keys/next").raise_for_status()  # 1. publish ahead
        time.sleep(CACHE_SECONDS + 0.5)  # 2. wait one cache lifetime
        assert httpx.get(f"{base}/v1/customers", headers=user).status_code == 200
        httpx.post(f"{idp}/keys/promote").raise_for_status()  # 3. sign with it, old one gone
        rotated = bearer(idp, "user")
        assert httpx.get(f"{base}/v1/customers", headers=rotated).status_code == 200
        deadline = time.monotonic() + CACHE_SECONDS + 1
        while httpx.get(f"{base}/v1/customers", headers=user).status_code == 200:
            assert time.monotonic() < deadline, "the removed key still verifies"
            time.sleep(0.1)
        assert httpx.get(f"{base}/v1/customers", headers=user).status_code == 401
