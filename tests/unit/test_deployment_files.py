"""docker-compose.yml and deploy/k8s/ cannot run here: keep them in step with the code. Every
variable they set is one a settings class reads, and every command they run exists."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from customerhub.cli import _parser
from customerhub_shared.settings import Settings
from notifications.settings import NotificationSettings
from web_console.settings import ConsoleSettings

REPO = Path(__file__).resolve().parents[2]
FILES = [REPO / "docker-compose.yml", *sorted((REPO / "deploy" / "k8s").glob("*.yaml"))]


def read_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = set()
    for name, field in settings.model_fields.items():
        names.add(f"{prefix}{name}".upper())
        if isinstance(field.validation_alias, AliasChoices):
            names |= {str(choice).upper() for choice in field.validation_alias.choices}
    return names


READ = read_names(Settings) | read_names(NotificationSettings) | read_names(ConsoleSettings)


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in FILES:
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield path.name, document


def customerhub_containers() -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, {command, environment}) of each container running the customerhub image."""
    for name, document in documents():
        if name == "docker-compose.yml":
            shared = document["x-customerhub-env"]
            for service, spec in document["services"].items():
                if spec.get("image") == "customerhub:local":
                    env = {**shared, **(spec.get("environment") or {})}
                    yield f"compose {service}", {"command": spec["command"], "env": env}
        elif document["kind"] in ("ConfigMap", "Secret"):
            data = document.get("data") or document.get("stringData") or {}
            yield f"k8s {document['kind']}", {"command": None, "env": data}
        elif document["kind"] == "Deployment":
            for container in document["spec"]["template"]["spec"]["containers"]:
                env = {item["name"]: item.get("value") for item in container.get("env", [])}
                yield f"k8s {container['name']}", {"command": container["command"], "env": env}


CONTAINERS = list(customerhub_containers())


@pytest.mark.parametrize(("where", "spec"), CONTAINERS, ids=[w for w, _ in CONTAINERS])
def test_every_variable_set_is_one_the_code_reads(where: str, spec: dict[str, Any]) -> None:
    unknown = sorted(name for name in spec["env"] if name not in READ)
    assert unknown == [], f"{where} sets variables no settings class reads"


@pytest.mark.parametrize(
    ("where", "spec"),
    [c for c in CONTAINERS if c[1]["command"]],
    ids=[w for w, s in CONTAINERS if s["command"]],
)
def test_every_command_exists(where: str, spec: dict[str, Any]) -> None:
    command = spec["command"]
    if command[0] == "uvicorn":
        module, factory = command[1].split(":")
        assert "--factory" in command
        assert callable(getattr(importlib.import_module(module), factory))
    else:
        assert command[0] == "customerhub", where
        _parser().parse_args(command[1:])  # exits (SystemExit) on an unknown command


def runs(spec: dict[str, Any], what: str) -> bool:
    return what in " ".join(spec.get("command") or ())


def test_compose_and_k8s_run_several_command_replicas_and_exactly_one_reconciler() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    writers = [s for s in compose.values() if runs(s, "customerhub.write_side:create_app")]
    readers = [s for s in compose.values() if runs(s, "customer_query.bootstrap:create_app")]
    reconcilers = [s for s in compose.values() if runs(s, "customerhub reconcile")]
    assert len(writers) > 1 and len(readers) > 1 and len(reconcilers) == 1
    assert all(w["environment"]["CUSTOMERHUB_OWNERSHIP_RECONCILER"] == "separate" for w in writers)
    assert len({tuple(w["ports"]) for w in writers}) == len(writers), "distinct ports"

    deployments = {
        d["metadata"]["name"]: d for _, d in documents() if d.get("kind") == "Deployment"
    }
    assert deployments["customer-command"]["spec"]["replicas"] > 1
    assert deployments["customer-query"]["spec"]["replicas"] > 1
    assert deployments["ownership-reconciler"]["spec"]["replicas"] == 1
    (container,) = deployments["customer-command"]["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container.get("env", [])}
    assert env["CUSTOMERHUB_OWNERSHIP_RECONCILER"] == "separate"


def served_paths(command: list[str]) -> set[str]:
    module, factory = command[1].split(":")
    app = getattr(importlib.import_module(module), factory)(Settings(jwt_secret="x" * 32))
    return {getattr(route, "path", "") for route in app.routes}


def http_services() -> Iterator[tuple[str, list[str], dict[str, str]]]:
    """(where, command, {probe kind: path}) of every container serving HTTP (uvicorn)."""
    for name, document in documents():
        if name == "docker-compose.yml":
            for service, spec in document["services"].items():
                if spec.get("image") == "customerhub:local" and spec["command"][0] == "uvicorn":
                    url = spec["healthcheck"]["test"][-1].split("'")[1]
                    probes = {"healthcheck": "/" + url.split("/", 3)[3]}
                    yield f"compose {service}", spec["command"], probes
        elif document["kind"] == "Deployment":
            for container in document["spec"]["template"]["spec"]["containers"]:
                if container["command"][0] == "uvicorn":
                    probes = {
                        kind: container[kind]["httpGet"]["path"]
                        for kind in ("readinessProbe", "livenessProbe")
                    }
                    yield f"k8s {container['name']}", container["command"], probes


SERVING = list(http_services())
EXPECTED_PROBES = {
    "healthcheck": "/health/ready",
    "readinessProbe": "/health/ready",
    "livenessProbe": "/health/live",
}


@pytest.mark.parametrize(("where", "command", "probes"), SERVING, ids=[s[0] for s in SERVING])
def test_probes_ask_readiness_and_liveness_routes_the_app_serves(
    where: str, command: list[str], probes: dict[str, str]
) -> None:
    assert probes == {kind: EXPECTED_PROBES[kind] for kind in probes}, where
    assert set(probes.values()) <= served_paths(command), where
    assert "/metrics" in served_paths(command), where
