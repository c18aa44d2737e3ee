"""The publisher port: hand messages to the bus and learn when all of them are safe there."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from customerhub_shared.cloudevents import KafkaMessage


class PublishFailed(Exception):
    """The bus did not acknowledge every message of a batch: any of them may or may not be
    there, so the caller publishes the batch again (at-least-once)."""


class EventPublisher(abc.ABC):
    @abc.abstractmethod
    async def publish(self, messages: Sequence[KafkaMessage]) -> None:
        """Return once the bus has acknowledged every message, each key's messages stored in
        the order given; PublishFailed otherwise."""

    @abc.abstractmethod
    async def close(self) -> None: ...
