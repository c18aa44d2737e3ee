"""A client generated from the embedded app's `/openapi.json` with openapi-python-client, as an
integrating team would, drives a real server: typed answers, typed problems."""

from __future__ import annotations

import functools
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import httpx
import pytest

from customerhub_shared.http.auth import mint_token
from tests.e2e.conftest import SECRET, new_customer
from tests.support.processes import embedded_server

PACKAGE = "customerhub_client"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with embedded_server(tmp_path_factory.mktemp("data"), SECRET) as (base, _):
        yield base


@pytest.fixture(scope="module")
def generated(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported; its generator must not have left anything out."""
    work = tmp_path_factory.mktemp("client")
    (work / "openapi.json").write_bytes(httpx.get(f"{server}/openapi.json").content)
    venv_bin = str(Path(sys.executable).parent)
    generated = subprocess.run(
        [
            str(Path(venv_bin) / "openapi-python-client"),
            "generate",
            "--path",
            "openapi.json",
            "--meta",
            "none",
            "--output-path",
            PACKAGE,
        ],
        cwd=work,
        env={**os.environ, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = generated.stdout + generated.stderr
    assert generated.returncode == 0, report
    assert "Warning" not in report and "WARNING" not in report, report
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _api(package: ModuleType, tag: str, operation: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{tag}.{operation}")


def test_generated_client_creates_reads_updates_and_lists_with_typed_answers(
    server: str, generated: ModuleType
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    customers = functools.partial(_api, generated, "customers")
    token = mint_token(SECRET, sub="integrator", roles=["admin"])
    client = generated.AuthenticatedClient(base_url=server, token=token)

    created = customers("create_customer").sync(
        client=client, body=models.NewCustomer.from_dict(new_customer("Fromagerie Dupont"))
    )
    assert isinstance(created, models.CustomerCreated)
    assert created.version == 1
    assert created.customer_number.startswith("C")
    customer_id = UUID(created.id)

    read = customers("get_customer").sync_detailed(
        customer_id, client=client, min_position=created.position
    )
    assert isinstance(read.parsed, models.CustomerOut)
    assert read.parsed.name == "Fromagerie Dupont"
    etag = read.headers["ETag"]
    assert etag == '"1"'
    unchanged = customers("get_customer").sync_detailed(
        customer_id, client=client, if_none_match=etag
    )
    assert unchanged.status_code == 304

    patch = models.CustomerPatch.from_dict({"region": "BE"})
    edited = customers("change_customer").sync(
        customer_id, client=client, body=patch, if_match=etag
    )
    assert isinstance(edited, models.CommandAnswer)
    assert edited.version == 2

    stale = customers("change_customer").sync_detailed(
        customer_id, client=client, body=patch, if_match=etag
    )
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.Problem)
    assert stale.parsed.status == 412
    assert stale.parsed.current_version == 2
    assert stale.parsed.type_.endswith("/version-mismatch")

    page = customers("list_customers").sync(
        client=client, q="fromagerie", min_position=edited.position
    )
    assert isinstance(page, models.CustomerPage)
    assert [(item.id, item.region) for item in page.items] == [(created.id, "BE")]


def test_generated_client_gets_a_typed_validation_problem(
    server: str, generated: ModuleType
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    token = mint_token(SECRET, sub="integrator", roles=["admin"])
    client = generated.AuthenticatedClient(base_url=server, token=token)
    body = models.NewCustomer.from_dict(new_customer("Bad Phone", phone="not a phone"))
    refused = _api(generated, "customers", "create_customer").sync_detailed(
        client=client, body=body
    )
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.Problem)
    assert refused.parsed.errors, "the 422 problem lists what failed"
    assert all(isinstance(error, models.ValidationErrorItem) for error in refused.parsed.errors)
