"""Opens the adapters a deployment mode asks for: the one place settings pick adapters."""

from __future__ import annotations

from dataclasses import dataclass

from customerhub_shared.eventstore import EventStore
from customerhub_shared.idempotency import IdempotencyStore
from customerhub_shared.keyring import KeyRing
from customerhub_shared.readstore import ReadStore
from customerhub_shared.settings import Settings
from customerhub_shared.sqlite_files import private_directory


@dataclass
class Infrastructure:
    event_store: EventStore
    keyring: KeyRing
    idempotency: IdempotencyStore

    async def close(self) -> None:
        await self.event_store.close()
        await self.keyring.close()
        await self.idempotency.close()


async def open_infrastructure(settings: Settings) -> Infrastructure:
    if settings.event_store == "postgres" or (
        settings.event_store == "kurrentdb" and settings.postgres_dsn
    ):
        keyring, idempotency = await _postgres_side_stores(settings)
    else:
        keyring, idempotency = _sqlite_side_stores(settings)
    return Infrastructure(await open_event_store(settings), keyring, idempotency)


async def open_event_store(settings: Settings) -> EventStore:
    if settings.event_store == "postgres":
        from customerhub_shared.eventstore.postgres import PostgresEventStore

        return await PostgresEventStore.open(
            _require(settings.postgres_dsn, "CUSTOMERHUB_POSTGRES_DSN")
        )
    if settings.event_store == "kurrentdb":
        from customerhub_shared.eventstore.kurrentdb import KurrentDBEventStore

        return await KurrentDBEventStore.open(_require(settings.kurrentdb_url, "KURRENTDB_URL"))
    from customerhub_shared.eventstore.sqlite import SQLiteEventStore

    private_directory(settings.data_dir)
    return await SQLiteEventStore.open(settings.data_dir / "events.db")


def _sqlite_side_stores(settings: Settings) -> tuple[KeyRing, IdempotencyStore]:
    from customerhub_shared.idempotency.sqlite import SQLiteIdempotencyStore
    from customerhub_shared.keyring.sqlite import SQLiteKeyRing

    # Keys live apart from the events, so a backup of the event store never carries them.
    private_directory(settings.data_dir)
    return (
        SQLiteKeyRing(settings.data_dir / "keys.db"),
        SQLiteIdempotencyStore(settings.data_dir / "idempotency.db"),
    )


async def _postgres_side_stores(settings: Settings) -> tuple[KeyRing, IdempotencyStore]:
    from customerhub_shared.idempotency.postgres import PostgresIdempotencyStore
    from customerhub_shared.keyring.postgres import PostgresKeyRing

    dsn = _require(settings.postgres_dsn, "CUSTOMERHUB_POSTGRES_DSN")
    kek = settings.keyring_key_encryption_key()
    keyring = await PostgresKeyRing.open(dsn, key_encryption_key=kek)
    return keyring, await PostgresIdempotencyStore.open(dsn)


def _require(value: str | None, name: str) -> str:
    if not value:
        raise RuntimeError(f"this deployment mode needs {name} to be set")
    return value


async def open_read_store(settings: Settings) -> ReadStore:
    if settings.read_store == "mongodb":
        from customerhub_shared.readstore.mongo import MongoReadStore

        url = _require(settings.mongodb_url, "MONGODB_URL")
        return await MongoReadStore.open(url, settings.mongodb_database)
    from customerhub_shared.readstore.sqlite import SQLiteReadStore

    private_directory(settings.data_dir)
    return await SQLiteReadStore.open(settings.data_dir / "read.db")
