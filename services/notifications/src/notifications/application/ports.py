"""The ports the use cases need: channel senders, the template catalogue, the delivery store."""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from customerhub_shared.eventstore import RecordedEvent
from notifications.domain.audience import Audience, EquipmentLabel
from notifications.domain.deliveries import Delivery, Message, Outcome
from notifications.domain.templates import Channel, TemplateSpec

T = TypeVar("T")


# -- channels --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    delivery_id: UUID
    channel: Channel
    recipient: str
    message: Message


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider (or the outbox) took the message; its own id for it, if it gives one."""

    provider_message_id: str | None = None


class DeliveryFailure(Exception):
    """An attempt that did not hand the message over. `reason` is a short code for the log;
    `detail` the provider's words (may name the recipient: never logged)."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class TransientFailure(DeliveryFailure):
    """Worth trying again later: a timeout, a 5xx, a 429 (with the provider's Retry-After)."""

    def __init__(
        self, reason: str, detail: str | None = None, *, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, detail)
        self.retry_after = retry_after


class PermanentFailure(DeliveryFailure):
    """Trying again cannot help: a refused recipient, an invalid number, a 4xx."""


class MessageSender(abc.ABC):
    """Hands messages of one channel to whatever carries them (SMTP, the SMS API, files)."""

    channel: Channel
    # Where messages go, for the start-up log line (never a credential).
    description: str

    @abc.abstractmethod
    async def send(self, message: OutgoingMessage) -> Sent:
        """Sent, or TransientFailure / PermanentFailure."""

    async def forget(self, delivery_ids: Sequence[UUID]) -> None:  # noqa: B027
        """Erase every copy this sender kept of these deliveries' messages (most keep none:
        the message left the machine)."""

    async def close(self) -> None:  # noqa: B027 - most senders hold nothing to release
        """Release connections."""


# -- templates -------------------------------------------------------------------------------


class TemplateBroken(Exception):
    """A template file that does not render with its declared parameters: a bug to fix."""


class TemplateCatalogue(abc.ABC):
    @abc.abstractmethod
    def names(self) -> list[str]: ...

    @abc.abstractmethod
    def spec(self, name: str) -> TemplateSpec | None: ...

    @abc.abstractmethod
    def render(
        self, spec: TemplateSpec, language: str, channel: Channel, context: Mapping[str, str]
    ) -> Message:
        """The message for one channel in one language; TemplateBroken if it cannot be."""


# -- the notification store ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Versioned(Generic[T]):
    """A read-model value and the count of its stream's events applied to it."""

    value: T
    version: int


@dataclass(frozen=True, slots=True)
class DuePage:
    deliveries: list[Delivery]
    # When the earliest delivery not due yet will be (None: nothing waiting).
    next_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryCursor:
    created_at: float
    delivery_id: str


class StreamReader(Protocol):
    """One stream of the event store, from its first event (the event store is one)."""

    async def read_stream(self, stream: str, *, from_version: int = 0) -> list[RecordedEvent]: ...


class NotificationStore(abc.ABC):
    """The service's state: the audience projection, the checkpoint, the delivery log.

    A delivery is recorded `pending` before any attempt and only ever moves forward; writing
    one that is already recorded changes nothing (ids are deterministic).
    """

    # -- what the event consumer keeps
    @abc.abstractmethod
    async def consumer_position(self) -> int | None: ...

    @abc.abstractmethod
    async def audiences(self, customer_ids: Sequence[UUID]) -> dict[UUID, Versioned[Audience]]: ...

    @abc.abstractmethod
    async def equipment(
        self, equipment_ids: Sequence[UUID]
    ) -> dict[UUID, Versioned[EquipmentLabel]]: ...

    @abc.abstractmethod
    async def save_batch(
        self,
        *,
        audiences: Sequence[Versioned[Audience]],
        equipment: Sequence[Versioned[EquipmentLabel]],
        deliveries: Sequence[Delivery],
        erase_customers: Collection[UUID],
        position: int,
        at: datetime,
    ) -> None:
        """New deliveries, the changed projection and the checkpoint, in one write where the
        store allows; the deliveries of `erase_customers` lose their addresses and bodies."""

    # -- requests and the log
    @abc.abstractmethod
    async def audience(self, customer_id: UUID) -> Audience | None: ...

    @abc.abstractmethod
    async def add(self, deliveries: Sequence[Delivery]) -> None:
        """Record new deliveries (those already recorded stay as they are)."""

    @abc.abstractmethod
    async def deliveries(self, delivery_ids: Sequence[UUID]) -> list[Delivery]: ...

    @abc.abstractmethod
    async def history(
        self, customer_id: UUID, *, limit: int, after: HistoryCursor | None = None
    ) -> list[Delivery]:
        """The customer's deliveries, newest first."""

    # -- the dispatcher
    @abc.abstractmethod
    async def due(self, channel: Channel, now: datetime, limit: int) -> DuePage: ...

    @abc.abstractmethod
    async def open_attempts(self, channel: Channel) -> int:
        """Deliveries whose attempt started but whose outcome was never recorded."""

    @abc.abstractmethod
    async def begin_attempts(self, delivery_ids: Sequence[UUID], at: datetime) -> list[Delivery]:
        """Record an attempt on each one still pending, before it is made; return those."""

    @abc.abstractmethod
    async def settle(self, outcomes: Sequence[tuple[UUID, Outcome]]) -> None:
        """Record how the attempts ended (on the deliveries as they are now)."""
