"""Instants as the read model stores them: UTC text of fixed width, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(moment: datetime) -> datetime:
    """A naive datetime from a store is UTC by this project's convention."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def utc(moment: datetime) -> datetime | None:
    """The instant in UTC; None when UTC cannot hold it (9999-12-31T23:59:59-01:00)."""
    try:
        return aware(moment).astimezone(UTC)
    except OverflowError:
        return None


def instant_text(moment: datetime) -> str:
    """'2026-03-03T12:00:00.000000Z': always microseconds, so sorting as text sorts by time."""
    return aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
