"""The bus: publishing the event log's CloudEvents (Kafka in the distributed modes), and
consuming them (`bus.kafka_consumer`, imported on its own: it brings aiokafka along)."""

from customerhub_shared.bus.port import EventPublisher, PublishFailed

__all__ = ["EventPublisher", "PublishFailed"]
