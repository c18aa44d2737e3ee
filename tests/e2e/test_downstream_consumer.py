"""The downstream example against the local cluster: it reads the customer topic from the
beginning, unseals through the command service with a subscriber token, prints names, and
prints "erased" for a customer once it was anonymised."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from customerhub_shared.cloudevents import Topics
from customerhub_shared.http.auth import mint_token

# The cluster fixture: the six services on the session's servers, stopped afterwards.
from tests.e2e.test_cluster import HEADERS, REPO, SECRET, Cluster, cluster  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.mongodb]

SUBSCRIBER = mint_token(SECRET, sub="billing-sync", roles=["subscriber"])
NAMES = {
    "Boulangerie Martin": "contact@martin.example",
    "Café Rivoli": "bonjour@rivoli.example",
    "Atelier Dubois": "atelier@dubois.example",
}

PARIS = {"street": "12 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"}


def run_example(running: Cluster, topics: Topics) -> dict[str, str]:
    """The example's output: customer id -> the rest of its line."""
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "downstream_consumer.py")],
        env={
            "PATH": "/usr/bin:/bin",
            "KAFKA_BOOTSTRAP_SERVERS": running.env["KAFKA_BOOTSTRAP_SERVERS"],
            "CUSTOMERHUB_KAFKA_CUSTOMER_TOPIC": topics.customer,
            "CUSTOMERHUB_API_URL": running.command_url,
            "CUSTOMERHUB_TOKEN": SUBSCRIBER,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)


def until(check: Any, what: str, timeout: float = 60) -> Any:
    """Run the example until its output passes `check` (the relay publishes asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        output = check()
        if output is not None:
            return output
        assert time.monotonic() < deadline, f"the example never showed {what}"
        time.sleep(1)


async def test_the_example_prints_names_then_erased_after_anonymise(
    cluster: Cluster,  # noqa: F811
    kafka_topics: Topics,
) -> None:
    async with httpx.AsyncClient(headers=HEADERS, timeout=30) as http:
        ids: dict[str, str] = {}
        for name, email in NAMES.items():
            body = {"kind": "company", "name": name, "email": email, "main_location": PARIS}
            answer = await http.post(f"{cluster.command_url}/v1/customers", json=body)
            assert answer.status_code == 201, answer.text
            ids[name] = answer.json()["id"]

        def names_shown() -> dict[str, str] | None:
            output = run_example(cluster, kafka_topics)
            return output if all(cid in output for cid in ids.values()) else None

        output = until(names_shown, "every customer")
        for name, email in NAMES.items():
            assert output[ids[name]] == f"{name}\t{email}"

        erased = ids["Café Rivoli"]
        answer = await http.post(f"{cluster.command_url}/v1/customers/{erased}/anonymise")
        assert answer.status_code == 200, answer.text

        def erased_shown() -> dict[str, str] | None:
            output = run_example(cluster, kafka_topics)
            return output if output.get(erased) == "erased" else None

        output = until(erased_shown, '"erased" for the anonymised customer')
        assert output[ids["Boulangerie Martin"]] == "Boulangerie Martin\tcontact@martin.example"
        assert "Café" not in "".join(output.values())

        access = await http.get(f"{cluster.command_url}/v1/audit/access")
        assert access.status_code == 200, access.text
        entries = access.json()["items"]
        assert entries and {entry["actor"] for entry in entries} == {"billing-sync"}
        assert erased in entries[0]["customer_ids"]
