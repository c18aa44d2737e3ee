"""Logging: personal data never reaches a log line; structlog and stdlib share one format."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from customerhub_shared.logging import (
    REDACTED,
    configure_logging,
    filtered_out,
    redact_personal_data,
)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")  # "" is the root logger
    touched = [logging.getLogger(name) for name in names]
    saved = [(list(logger.handlers), logger.level, logger.propagate) for logger in touched]
    yield
    for logger, (handlers, level, propagate) in zip(touched, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_personal_data(None, "info", event))


def test_personal_data_values_are_redacted() -> None:
    line = redact(
        event="contact.added",
        name="Claire Martin",
        email="claire@martin.example",
        phone="+33600000000",
        street="12 rue de la Paix",
        postal_code="75002",
        city="Paris",
        note="allergic to nuts",
        to="+33600000000",
        body="Bonjour Claire",
        recipient="x@y.z",
    )
    assert line.pop("event") == "contact.added"
    assert set(line.values()) == {REDACTED}


def test_personal_data_is_redacted_inside_nested_values_and_by_suffix() -> None:
    line = redact(
        event="customer.created",
        customer={"id": "c-1", "main_location": {"city": "Paris"}, "contacts": [{"name": "A"}]},
        contact_email="a@b.c",
        Email="CAPS@B.C",
    )
    assert line["customer"] == {
        "id": "c-1",
        "main_location": REDACTED,
        "contacts": [{"name": REDACTED}],
    }
    assert line["contact_email"] == REDACTED
    assert line["Email"] == REDACTED


def test_identifiers_and_technical_fields_are_kept() -> None:
    line = redact(
        event="customer.created",
        customer_id="6f1c",
        correlation_id="abc",
        actor="dev-admin",
        status=201,
        template="welcome",
        channel="sms",
        stream_name="customer-6f1c",
    )
    assert REDACTED not in line.values()


def test_structlog_lines_are_json_with_context_level_timestamp_and_redaction(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    structlog.contextvars.bind_contextvars(correlation_id="req-1", actor="dev-admin")
    structlog.get_logger("customer_command").info(
        "customer.created", customer_id="6f1c", email="claire@martin.example"
    )
    line = json.loads(capsys.readouterr().out.strip())
    assert line["event"] == "customer.created"
    assert line["correlation_id"] == "req-1"
    assert line["actor"] == "dev-admin"
    assert line["customer_id"] == "6f1c"
    assert line["level"] == "info"
    assert line["timestamp"].startswith("20")
    assert line["email"] == REDACTED


def test_uvicorn_records_share_the_json_format_and_context(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    structlog.contextvars.bind_contextvars(correlation_id="req-2")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    line = json.loads(capsys.readouterr().out.strip())
    assert line["event"] == "Started server process [42]"
    assert line["correlation_id"] == "req-2"
    assert line["logger"] == "uvicorn.error"


def test_lines_below_the_level_are_dropped(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("warning", "json")
    structlog.get_logger().info("request.completed")
    assert capsys.readouterr().out == ""


def test_an_event_is_known_filtered_out_only_where_the_level_filter_would_drop_it(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("warning", "json")
    assert filtered_out("customerhub_shared.http.middleware", logging.INFO)
    assert not filtered_out("customerhub_shared.http.middleware", logging.WARNING)
    with structlog.testing.capture_logs() as lines:  # a capture sees every level
        assert not filtered_out("customerhub_shared.http.middleware", logging.INFO)
        structlog.get_logger("customerhub_shared.http.middleware").info("request.completed")
    assert [line["event"] for line in lines] == ["request.completed"]
    configure_logging("INFO", "json")
    assert not filtered_out("customerhub_shared.http.middleware", logging.INFO)
    structlog.get_logger("customerhub_shared.http.middleware").info("request.completed")
    assert "request.completed" in capsys.readouterr().out


def test_configuring_twice_keeps_one_line_per_event_and_foreign_handlers(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    configure_logging("INFO", "json")
    configure_logging("INFO", "console")
    structlog.get_logger().info("relay.started")
    output = capsys.readouterr().out
    assert output.count("relay.started") == 1
    assert not output.lstrip().startswith("{")  # the console renderer took over
    assert foreign in logging.getLogger().handlers


def test_uvicorn_access_lines_with_query_strings_are_not_logged(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("uvicorn.access").info('"GET /v1/customers?q=claire HTTP/1.1" 200')
    assert "claire" not in capsys.readouterr().out
