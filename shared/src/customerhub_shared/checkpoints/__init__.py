"""Named checkpoints: how far a reader of the event log (the relay) has durably got."""

from __future__ import annotations

from customerhub_shared.checkpoints.port import CheckpointStore
from customerhub_shared.settings import Settings

__all__ = ["CheckpointStore", "open_checkpoint_store"]


async def open_checkpoint_store(settings: Settings) -> CheckpointStore:
    """PostgreSQL wherever the deployment has one (beside its event store or keys), else a
    SQLite file in the data directory."""
    if settings.postgres_dsn and settings.event_store in ("postgres", "kurrentdb"):
        from customerhub_shared.checkpoints.postgres import PostgresCheckpointStore

        return await PostgresCheckpointStore.open(settings.postgres_dsn)
    from customerhub_shared.checkpoints.sqlite import SQLiteCheckpointStore

    return SQLiteCheckpointStore(settings.data_dir / "checkpoints.db")
