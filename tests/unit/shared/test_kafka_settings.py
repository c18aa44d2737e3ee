"""The bus settings: Kafka's own variable name, the prefixed one, and the contract's topics."""

from __future__ import annotations

import os

import pytest

from customerhub_shared.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("CUSTOMERHUB_") or name.upper() == "KAFKA_BOOTSTRAP_SERVERS":
            monkeypatch.delenv(name)


def test_the_embedded_default_needs_no_kafka_and_names_the_contracts_topics() -> None:
    settings = load_settings()
    assert settings.kafka_bootstrap_servers is None
    assert settings.kafka_customer_topic == "customerhub.customer.events"
    assert settings.kafka_equipment_topic == "customerhub.equipment.events"
    assert settings.kafka_topic_partitions == 6
    assert settings.relay_batch_size == 500


@pytest.mark.parametrize(
    "variable", ["KAFKA_BOOTSTRAP_SERVERS", "CUSTOMERHUB_KAFKA_BOOTSTRAP_SERVERS"]
)
def test_bootstrap_servers_come_from_either_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "kafka-1:9092,kafka-2:9092")
    assert load_settings().kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"


def test_topics_and_the_relay_batch_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERHUB_KAFKA_CUSTOMER_TOPIC", "staging.customer.events")
    monkeypatch.setenv("CUSTOMERHUB_RELAY_BATCH_SIZE", "50")
    settings = load_settings()
    assert settings.kafka_customer_topic == "staging.customer.events"
    assert settings.relay_batch_size == 50
