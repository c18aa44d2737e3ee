"""Counters of what this process delivered, per channel, since it started."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any, Literal

from notifications.domain.templates import CHANNELS, Channel

Event = Literal["sent", "failed", "retried", "skipped", "in_doubt"]
EVENTS: tuple[Event, ...] = ("sent", "failed", "retried", "skipped", "in_doubt")


class NotificationMetrics:
    def __init__(self) -> None:
        self.since = datetime.now(UTC)
        self._counts: dict[Channel, Counter[Event]] = {channel: Counter() for channel in CHANNELS}

    def count(self, channel: Channel, event: Event, n: int = 1) -> None:
        self._counts[channel][event] += n

    def get(self, channel: Channel, event: Event) -> int:
        return self._counts[channel][event]

    def snapshot(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "channels": {
                channel: {event: counts[event] for event in EVENTS}
                for channel, counts in self._counts.items()
            },
        }
