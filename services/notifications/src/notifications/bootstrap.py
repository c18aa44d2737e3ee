"""The composition root of the notification service: settings and adapters in, a running
consumer, a dispatcher per channel and the HTTP routes out.

Embedded, the embedded app calls `attach` and runs what it answers (`consumers.running`)
beside the other services'; standalone, `create_app` does the same for the service's own app.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property, partial
from typing import Any
from uuid import UUID

import structlog
from fastapi import APIRouter, FastAPI

from customerhub_shared.consumers import Attached, ParkedStore, Runner, running
from customerhub_shared.events import default_registry
from customerhub_shared.eventstore import EventStore
from customerhub_shared.followers import read_store_follower
from customerhub_shared.http import parked as parked_events
from customerhub_shared.http.health import observe
from customerhub_shared.http.service import prepare_service_app, serve_infrastructure
from customerhub_shared.infrastructure import Infrastructure, open_read_store
from customerhub_shared.mapper import EventMapper
from customerhub_shared.readstore import ReadStore
from customerhub_shared.settings import Settings, load_settings
from notifications.adapters.customer_log import customer_head
from notifications.adapters.delivery_log import CONSUMER_CHECKPOINT, ReadStoreNotifications
from notifications.adapters.outbox_files import OutboxFiles
from notifications.adapters.smtp import SmtpEmailSender
from notifications.adapters.templates import JinjaTemplates
from notifications.adapters.twilio import TwilioSmsSender
from notifications.application.consumer import ForgetMessages, NotificationConsumer
from notifications.application.dispatcher import Dispatcher
from notifications.application.metrics import NotificationMetrics
from notifications.application.planning import DeliveryPlanner
from notifications.application.ports import MessageSender
from notifications.domain.deliveries import RetryPolicy
from notifications.entrypoints.http import notifications
from notifications.entrypoints.http.metrics import DeliveryCollector
from notifications.entrypoints.http.service import NotificationService
from notifications.settings import NotificationSettings, load_notification_settings

log = structlog.get_logger(__name__)


def email_sender(settings: NotificationSettings) -> MessageSender:
    if not settings.smtp_host:
        return OutboxFiles(settings.outbox_dir, "email", sender=settings.mail_from)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpEmailSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        mail_from=settings.mail_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=password,
        ca_file=settings.smtp_ca_file,
        timeout=settings.smtp_timeout_seconds,
        connections=settings.notification_concurrency,
    )


def sms_sender(settings: NotificationSettings) -> MessageSender:
    if not settings.sms_api_url:
        return OutboxFiles(settings.outbox_dir, "sms", sender=settings.sms_from or "customerhub")
    # The settings validator made sure these are set along with the URL.
    assert settings.twilio_account_sid and settings.twilio_auth_token and settings.sms_from
    return TwilioSmsSender(
        base_url=settings.sms_api_url,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        sms_from=settings.sms_from,
        timeout=settings.sms_timeout_seconds,
        connections=settings.notification_concurrency,
    )


# The consumer group of the notification service (CUSTOMERHUB_CONSUMER_TRANSPORT=kafka).
CONSUMER = "notifications.deliveries"


@dataclass
class NotificationRuntime:
    """What runs in the background: the consumer (following the log, or a Kafka consumer-group
    agent on both topics), one dispatcher per channel."""

    service: NotificationService
    consumer: NotificationConsumer
    dispatchers: list[Dispatcher]
    events: EventStore
    settings: Settings
    parked: ParkedStore | None = None

    @cached_property
    def runner(self) -> Runner:
        """The consumer as the runtime runs it: from the log, or fed by a Kafka agent."""
        return Runner(
            self.consumer,
            events=self.events,
            batch_size=self.settings.projector_batch_size,
            parked=self.parked,
            max_attempts=self.settings.consumer_max_attempts,
        )

    def wake(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.wake()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Consume and dispatch in the background for the duration of the block."""
        for dispatcher in self.dispatchers:
            _describe(dispatcher)
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(self._consuming(stop)),
            *(asyncio.create_task(d.run(stop)) for d in self.dispatchers),
        ]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            for dispatcher in self.dispatchers:
                await dispatcher.sender.close()

    def _consuming(self, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
        settings, runner = self.settings, self.runner
        if settings.consumer_transport == "log":
            return runner.follow(stop=stop)
        from customerhub_shared.bus.agents import NEEDS_KAFKA, run_agent
        from customerhub_shared.bus.handlers import ConsumerFeed
        from customerhub_shared.bus.kafka_consumer import ConsumerNotConfigured

        if not settings.kafka_bootstrap_servers:
            raise ConsumerNotConfigured(NEEDS_KAFKA)
        topics = [settings.kafka_customer_topic, settings.kafka_equipment_topic]
        return run_agent(
            settings,
            consumer=CONSUMER,
            topics=topics,
            handler=ConsumerFeed(runner),
            stop=stop,
            keep_trying=True,
        )


def _describe(dispatcher: Dispatcher) -> None:
    sender = dispatcher.sender
    if isinstance(sender, OutboxFiles):
        # No server configured for this channel: nothing leaves the machine.
        log.warning(
            "notifications.outbox_only",
            channel=dispatcher.channel,
            directory=str(sender.directory),
            hint="set CUSTOMERHUB_SMTP_HOST / CUSTOMERHUB_SMS_API_URL to deliver",
        )
    else:
        log.info(
            "notifications.channel", channel=dispatcher.channel, destination=sender.description
        )


def _forgetting(dispatchers: list[Dispatcher]) -> ForgetMessages:
    async def forget(delivery_ids: Sequence[UUID]) -> None:
        for dispatcher in dispatchers:
            await dispatcher.sender.forget(delivery_ids)

    return forget


def build_runtime(
    infra: Infrastructure,
    read_store: ReadStore,
    settings: Settings,
    notification_settings: NotificationSettings,
) -> NotificationRuntime:
    ns = notification_settings
    catalogue = JinjaTemplates()
    catalogue.check()
    metrics = NotificationMetrics()
    planner = DeliveryPlanner(catalogue, metrics)
    store = ReadStoreNotifications(read_store)
    policy = RetryPolicy(
        max_attempts=ns.notification_max_attempts,
        base_seconds=ns.notification_retry_base_seconds,
        max_seconds=ns.notification_retry_max_seconds,
    )
    dispatchers = [
        Dispatcher(
            sender,
            store,
            policy,
            metrics,
            batch_size=ns.notification_dispatch_batch,
            concurrency=ns.notification_concurrency,
        )
        for sender in (email_sender(ns), sms_sender(ns))
    ]

    def wake() -> None:
        for dispatcher in dispatchers:
            dispatcher.wake()

    consumer = NotificationConsumer(
        store=store,
        mapper=EventMapper(default_registry()),
        keyring=infra.keyring,
        planner=planner,
        max_event_age=timedelta(seconds=ns.notification_max_event_age_seconds),
        on_deliveries=wake,
        items=infra.event_store,
        forget_messages=_forgetting(dispatchers),
    )
    service = NotificationService(
        store=store,
        catalogue=catalogue,
        planner=planner,
        metrics=metrics,
        idempotency=infra.idempotency,
        freshness_timeout=settings.freshness_timeout_seconds,
        on_deliveries=wake,
        customer_head=partial(customer_head, infra.event_store),
    )
    return NotificationRuntime(
        service=service,
        consumer=consumer,
        dispatchers=dispatchers,
        events=infra.event_store,
        settings=settings,
    )


def routers() -> list[APIRouter]:
    return [notifications.router]


def attach(
    app: FastAPI,
    infra: Infrastructure,
    read_store: ReadStore,
    settings: Settings,
    notification_settings: NotificationSettings | None = None,
    *,
    parked: ParkedStore | None = None,
) -> Attached:
    """Give an app (this service's own, or the embedded one) what the routes need; runs the
    consumer and one dispatcher per channel."""
    # The outbox lives in the data directory the app was given, whatever the environment says.
    notification_settings = notification_settings or load_notification_settings(
        data_dir=settings.data_dir
    )
    runtime = build_runtime(infra, read_store, settings, notification_settings)
    runtime.parked = parked
    app.state.notifications = runtime.service
    app.state.metrics.collect_from("deliveries", DeliveryCollector(runtime.service.metrics))
    return Attached((runtime.runner,), (runtime.running,))


def create_app(
    settings: Settings | None = None, notification_settings: NotificationSettings | None = None
) -> FastAPI:
    """The notification service on its own: its routes, its consumer, its dispatchers."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            serve_infrastructure(app, settings) as infra,
            parked_events.serving(app, settings) as consumers,
        ):
            read_store = await open_read_store(settings)
            try:
                attached = attach(
                    app, infra, read_store, settings, notification_settings, parked=consumers.parked
                )
                followers = [read_store_follower("notifications", read_store, CONSUMER_CHECKPOINT)]
                observe(app, infra, settings, read_store=read_store, followers=followers)
                async with running(consumers, attached):
                    yield
            finally:
                await read_store.close()

    app = FastAPI(title="customerhub notifications", version="1", lifespan=lifespan)
    prepare_service_app(app, settings)
    for router in [*routers(), parked_events.router]:
        app.include_router(router)
    return app
