"""The followers of the log each composition answers for in `/metrics`, `/health/ready` and
`customerhub projections`, under one name each."""

from __future__ import annotations

from customer_query.domain.view import CustomerView
from customerhub_shared.checkpoints import CheckpointStore
from customerhub_shared.followers import (
    Follower,
    checkpoint_follower,
    projection_follower,
    read_store_follower,
)
from customerhub_shared.readstore import ReadStore
from customerhub_shared.settings import Settings
from equipment.application.reconciler import CHECKPOINT as RECONCILER_CHECKPOINT
from equipment.domain.view import EquipmentView
from notifications.adapters.delivery_log import CONSUMER_CHECKPOINT as NOTIFICATIONS_CHECKPOINT

CUSTOMERS, EQUIPMENT = CustomerView.name, EquipmentView.name
NOTIFICATIONS, RECONCILER, RELAY = "notifications", "ownership-reconciler", "relay"


def embedded_followers(
    read_store: ReadStore, checkpoints: CheckpointStore, settings: Settings
) -> list[Follower]:
    """Every follower of the log: the read models, notifications, the ownership reconciler,
    and the relay where Kafka is configured."""
    return [
        projection_follower(CUSTOMERS, read_store),
        projection_follower(EQUIPMENT, read_store),
        read_store_follower(NOTIFICATIONS, read_store, NOTIFICATIONS_CHECKPOINT),
        checkpoint_follower(RECONCILER, checkpoints, RECONCILER_CHECKPOINT),
        *relay_follower(checkpoints, settings),
    ]


def relay_follower(
    checkpoints: CheckpointStore, settings: Settings, *, always: bool = False
) -> list[Follower]:
    """The relay, where Kafka is configured (or `always`: the CLI lists it regardless)."""
    if not (settings.kafka_bootstrap_servers or always):
        return []
    name = settings.relay_checkpoint_name
    # Reported, not waited on: commands are answered whether the relay runs or not.
    return [checkpoint_follower(RELAY, checkpoints, name, gates_readiness=False)]


def write_side_followers(checkpoints: CheckpointStore, settings: Settings) -> list[Follower]:
    """The write side answers for the ownership reconciler (in-process or not) and the relay."""
    return [
        checkpoint_follower(RECONCILER, checkpoints, RECONCILER_CHECKPOINT),
        *relay_follower(checkpoints, settings),
    ]
