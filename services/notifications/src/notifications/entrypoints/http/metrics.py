"""The delivery counters in `/metrics`: read from the process's NotificationMetrics at scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from notifications.application.metrics import EVENTS, NotificationMetrics
from notifications.domain.templates import CHANNELS


class DeliveryCollector(Collector):
    def __init__(self, metrics: NotificationMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[CounterMetricFamily]:
        deliveries = CounterMetricFamily(
            "customerhub_notification_deliveries",
            "Deliveries by channel and outcome (sent, failed, retried, skipped, in_doubt)",
            labels=["channel", "status"],
        )
        for channel in CHANNELS:
            for event in EVENTS:
                deliveries.add_metric([channel, event], self.metrics.get(channel, event))
        yield deliveries
