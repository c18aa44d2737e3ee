"""schemathesis over every operation of the embedded app, as a real process: each answer's
status is declared, its content type is the declared one, its body matches the schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from customerhub_shared.http.auth import mint_token
from tests.e2e.conftest import SECRET
from tests.support.processes import embedded_server

CHECKS = "status_code_conformance,content_type_conformance,response_schema_conformance"


def test_every_operation_answers_as_its_document_says(tmp_path: Path) -> None:
    token = mint_token(SECRET, sub="conformance", roles=["admin"])
    # A short freshness wait: generated min_position values are mostly far ahead of the log.
    fast = {"CUSTOMERHUB_FRESHNESS_TIMEOUT_SECONDS": "0.1"}
    with embedded_server(tmp_path / "data", SECRET, extra_env=fast) as (base, _):
        document = httpx.get(f"{base}/openapi.json").json()
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{base}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--max-examples",
                "10",
                "--seed",
                "20261205",
                "--workers",
                "2",
                "--no-shrink",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    operations = sum(len(methods) for methods in document["paths"].values())
    assert f"Tested: {operations}" in report, report
