"""schemathesis over every operation of the embedded app, as a real process: each answer's
status is declared, its content type is the declared one, its body matches the schema.

Path parameters name, half of the time, customers, contacts, locations and items that exist
(tests/support/conformance_hooks.py), so answers beyond 404 are checked too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from customerhub_shared.http.auth import mint_token
from tests.e2e.conftest import SECRET, new_customer
from tests.support.processes import embedded_server

CHECKS = "status_code_conformance,content_type_conformance,response_schema_conformance"
ROOT = Path(__file__).resolve().parents[2]


def _seed(base: str, headers: dict[str, str]) -> dict[str, str]:
    """A few customers with a contact and a second location, and items, one of them owned."""
    ids: dict[str, list[str]] = {"CUSTOMERS": [], "CONTACTS": [], "LOCATIONS": [], "EQUIPMENT": []}
    with httpx.Client(base_url=base, headers=headers) as http:
        for name in ("Boulangerie Martin", "Garage Lefèvre", "Ferme Dubois"):
            customer = http.post("/v1/customers", json=new_customer(name)).json()
            path = f"/v1/customers/{customer['id']}"
            contact = http.post(f"{path}/contacts", json={"name": "Claire", "main": True}).json()
            location = {"street": "1 rue Haute", "postal_code": "75001", "city": "Paris"}
            added = http.post(f"{path}/locations", json={**location, "country": "FR"}).json()
            ids["CUSTOMERS"].append(customer["id"])
            ids["CONTACTS"].append(contact["contact_id"])
            ids["LOCATIONS"].append(added["location_id"])
        for serial in ("SN-1", "SN-2"):
            item = http.post("/v1/equipment", json={"name": "Oven", "serial_number": serial})
            ids["EQUIPMENT"].append(item.json()["id"])
        owner = ids["CUSTOMERS"][0]
        assigned = http.post(
            f"/v1/customers/{owner}/equipment", json={"equipment_ids": ids["EQUIPMENT"][:1]}
        )
        assert assigned.status_code == 200, assigned.text
    return {f"CUSTOMERHUB_CONFORMANCE_{kind}": ",".join(v) for kind, v in ids.items()}


def test_every_operation_answers_as_its_document_says(tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {mint_token(SECRET, sub='fuzz', roles=['admin'])}"}
    # A short freshness wait: generated min_position values are mostly far ahead of the log.
    fast = {"CUSTOMERHUB_FRESHNESS_TIMEOUT_SECONDS": "0.1"}
    with embedded_server(tmp_path / "data", SECRET, extra_env=fast) as (base, _):
        document = httpx.get(f"{base}/openapi.json").json()
        known = _seed(base, headers)
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{base}/openapi.json",
                "--header",
                f"Authorization: {headers['Authorization']}",
                "--checks",
                CHECKS,
                "--max-examples",
                os.environ.get("CONFORMANCE_EXAMPLES", "10"),
                "--seed",
                os.environ.get("CONFORMANCE_SEED", "20261205"),
                "--workers",
                "1",
                "--no-shrink",
            ],
            cwd=tmp_path,
            env={
                **os.environ,
                **known,
                "SCHEMATHESIS_HOOKS": "tests.support.conformance_hooks",
                "PYTHONPATH": str(ROOT),
            },
            capture_output=True,
            text=True,
            timeout=240,
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    operations = sum(len(methods) for methods in document["paths"].values())
    assert f"Tested: {operations}" in report, report
