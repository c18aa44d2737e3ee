"""The bus: publishing the event log's CloudEvents (Kafka in the distributed modes)."""

from customerhub_shared.bus.port import EventPublisher, PublishFailed

__all__ = ["EventPublisher", "PublishFailed"]
