"""structlog set-up shared by every service: one event per line, context bound at the edge,
personal data redacted even when a caller forgets."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"

# Keys that hold personal data wherever they appear: log lines must never carry their values.
PERSONAL_DATA_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "display_name",
        "internal_name",
        "contact_name",
        "email",
        "emails",
        "phone",
        "phones",
        "mobile",
        "fax",
        "street",
        "postal_code",
        "zip",
        "city",
        "address",
        "addresses",
        "main_location",
        "location",
        "geolocation",
        "latitude",
        "longitude",
        "note",
        "notes",
        "body",
        "to",
        "from_address",
        "recipient",
        "recipients",
        "params",
        "password",
        "secret",
        "token",
        "authorization",
    }
)
_PERSONAL_SUFFIXES = ("_email", "_phone", "_address")
_HANDLER_NAME = "customerhub"
_STDLIB_LOGGERS_WE_OWN = ("uvicorn", "uvicorn.error", "uvicorn.access")
# uvicorn's access line carries the query string (a search for a name, say); the correlation
# middleware's `request.completed` replaces it.
_SILENCED_BELOW_WARNING = ("uvicorn.access",)


def redact_personal_data(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """structlog processor: replaces personal values, also inside nested dicts and lists."""
    return {key: _redacted(key, value) for key, value in event_dict.items()}


def configure_logging(level: str = "INFO", fmt: Literal["json", "console"] = "json") -> None:
    """Route structlog and stdlib logging (uvicorn's too) through one formatter on stdout.

    Safe to call again: it replaces what an earlier call installed and nothing else.
    """
    shared = _shared_processors()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a logger fetched before this call must follow the new configuration.
        cache_logger_on_first_use=False,
    )
    _install_root_handler(_formatter(shared, fmt), level.upper())


def filtered_out(logger_name: str, level: int) -> bool:
    """Whether an event at `level` of the structlog logger `logger_name` would be dropped
    before anything else looks at it (the stdlib level filter `configure_logging` puts first
    says no), so a caller may skip making it."""
    config = structlog.get_config()
    processors = config["processors"]
    return (
        bool(processors)
        and processors[0] is structlog.stdlib.filter_by_level
        and isinstance(config["logger_factory"], structlog.stdlib.LoggerFactory)
        and not logging.getLogger(logger_name).isEnabledFor(level)
    )


def _redacted(key: str, value: Any) -> Any:
    if _is_personal(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: _redacted(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted("", item) for item in value]
    return value


def _is_personal(key: str) -> bool:
    lowered = key.lower()
    return lowered in PERSONAL_DATA_KEYS or lowered.endswith(_PERSONAL_SUFFIXES)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        redact_personal_data,
    ]


def _formatter(
    shared: list[Processor], fmt: Literal["json", "console"]
) -> structlog.stdlib.ProcessorFormatter:
    rendering: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        rendering += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        rendering.append(structlog.dev.ConsoleRenderer())
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=rendering)


def _install_root_handler(formatter: logging.Formatter, level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _STDLIB_LOGGERS_WE_OWN:
        # uvicorn's own handlers would print a second, unformatted copy of each line.
        stdlib_logger = logging.getLogger(name)
        stdlib_logger.handlers.clear()
        stdlib_logger.propagate = True
    for name in _SILENCED_BELOW_WARNING:
        logging.getLogger(name).setLevel(logging.WARNING)
