"""Opens the adapters a deployment mode asks for: the one place settings pick adapters."""

from __future__ import annotations

from dataclasses import dataclass

from customerhub_shared.accesslog import AccessLog
from customerhub_shared.blobs import BlobStore
from customerhub_shared.eventstore import EventStore
from customerhub_shared.idempotency import ClaimTiming, IdempotencyStore
from customerhub_shared.keyring import KeyRing
from customerhub_shared.readstore import ReadStore
from customerhub_shared.settings import Settings
from customerhub_shared.sqlite_files import private_directory


@dataclass
class Infrastructure:
    event_store: EventStore
    keyring: KeyRing
    idempotency: IdempotencyStore
    access_log: AccessLog
    blobs: BlobStore

    async def close(self) -> None:
        await self.event_store.close()
        await self.keyring.close()
        await self.idempotency.close()
        await self.access_log.close()
        await self.blobs.close()


async def open_infrastructure(settings: Settings) -> Infrastructure:
    if settings.event_store == "postgres" or (
        settings.event_store == "kurrentdb" and settings.postgres_dsn
    ):
        keyring, idempotency = await _postgres_side_stores(settings)
    else:
        keyring, idempotency = _sqlite_side_stores(settings)
    access_log = await open_access_log(settings)
    event_store = await open_event_store(settings)
    return Infrastructure(event_store, keyring, idempotency, access_log, open_blob_store(settings))


def open_blob_store(settings: Settings) -> BlobStore:
    """Attachments' bytes: an S3 bucket in the distributed modes, else files beside the data."""
    if settings.blob_store == "s3":
        from customerhub_shared.blobs.s3 import S3BlobStore
        from customerhub_shared.blobs.sigv4 import Credentials

        secret = settings.s3_secret_access_key
        credentials = Credentials(
            access_key_id=_require(settings.s3_access_key_id, "CUSTOMERHUB_S3_ACCESS_KEY_ID"),
            secret_access_key=_require(
                secret.get_secret_value() if secret else None, "CUSTOMERHUB_S3_SECRET_ACCESS_KEY"
            ),
            region=settings.s3_region,
        )
        endpoint = _require(settings.s3_endpoint, "CUSTOMERHUB_S3_ENDPOINT")
        return S3BlobStore(endpoint, settings.s3_bucket, credentials)
    from customerhub_shared.blobs.local import LocalBlobStore

    return LocalBlobStore(settings.data_dir / "blobs")


async def open_access_log(settings: Settings) -> AccessLog:
    """Beside the keyring: PostgreSQL where the keys are, else a file in the data directory."""
    if settings.event_store == "postgres" or (
        settings.event_store == "kurrentdb" and settings.postgres_dsn
    ):
        from customerhub_shared.accesslog.postgres import PostgresAccessLog

        return await PostgresAccessLog.open(
            _require(settings.postgres_dsn, "CUSTOMERHUB_POSTGRES_DSN")
        )
    from customerhub_shared.accesslog.sqlite import SQLiteAccessLog

    return SQLiteAccessLog(settings.data_dir / "access.db")


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
        SQLiteIdempotencyStore(settings.data_dir / "idempotency.db", _claim_timing(settings)),
    )


async def _postgres_side_stores(settings: Settings) -> tuple[KeyRing, IdempotencyStore]:
    from customerhub_shared.idempotency.postgres import PostgresIdempotencyStore
    from customerhub_shared.keyring.postgres import PostgresKeyRing

    dsn = _require(settings.postgres_dsn, "CUSTOMERHUB_POSTGRES_DSN")
    kek = settings.keyring_key_encryption_key()
    keyring = await PostgresKeyRing.open(dsn, key_encryption_key=kek)
    return keyring, await PostgresIdempotencyStore.open(dsn, _claim_timing(settings))


def _claim_timing(settings: Settings) -> ClaimTiming:
    return ClaimTiming(
        wait_seconds=settings.idempotency_wait_seconds,
        lease_seconds=settings.idempotency_claim_seconds,
    )


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
    # A customer's emails and phone keys: looked up by value for every duplicate check.
    return await SQLiteReadStore.open(
        settings.data_dir / "read.db", value_indexed=("emails", "phones")
    )
