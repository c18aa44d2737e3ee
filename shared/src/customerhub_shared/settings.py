"""Every service's configuration, read from CUSTOMERHUB_* environment variables.
Nothing is read at import: the composition root or the CLI calls `load_settings()`."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

JWT_SECRET_FILE = "jwt-secret"
# HS256 wants a key at least as long as its hash (RFC 7518 3.2): shorter ones can be guessed.
MIN_JWT_SECRET_BYTES = 32


class Settings(BaseSettings):
    """One deployment's settings; each field `foo` is read from `CUSTOMERHUB_FOO`."""

    model_config = SettingsConfigDict(
        env_prefix="CUSTOMERHUB_", env_file=None, populate_by_name=True
    )

    port: int = 8000
    host: str = "127.0.0.1"
    data_dir: Path = Path("./var")

    jwt_secret: SecretStr | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # Production: tokens signed with RS256/ES256 by an identity provider publishing a JWKS.
    jwks_url: str | None = None
    # Where the token carries its roles: a claim name, or a dotted path (realm_access.roles).
    jwt_roles_claim: str = "roles"
    # How long a fetched key set is trusted: a key removed from the JWKS stops verifying after.
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    # Fetches for unknown kids are at least this far apart; in between they are refused.
    jwks_refresh_cooldown_seconds: float = Field(default=30.0, ge=0)
    jwks_fetch_timeout_seconds: float = Field(default=5.0, gt=0)

    event_store: Literal["sqlite", "postgres", "kurrentdb"] = "sqlite"
    postgres_dsn: str | None = None
    # The key-encryption key of the PostgreSQL keyring (base64 of 32 bytes), kept outside the
    # database: data keys are stored wrapped, so no raw key ever reaches its files or its WAL.
    keyring_kek: SecretStr | None = None
    # KurrentDB's own tooling uses KURRENTDB_URL; the prefixed name works too.
    kurrentdb_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KURRENTDB_URL", "CUSTOMERHUB_KURRENTDB_URL"),
    )

    read_store: Literal["sqlite", "mongodb"] = "sqlite"
    mongodb_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MONGODB_URL", "CUSTOMERHUB_MONGODB_URL"),
    )
    mongodb_database: str = "customerhub"
    # How long a query waits for the read model to reach a client's `min_position`.
    freshness_timeout_seconds: float = 2.0
    # Events a projector applies per read-store write (and checkpoint).
    projector_batch_size: int = Field(default=500, ge=1, le=10_000)
    # Events a replay folds per read-store write: each document is written about once per
    # batch; memory grows with the batch, not with the history.
    replay_batch_size: int = Field(default=50_000, ge=1, le=1_000_000)
    # Attempts before a consumer parks an event that keeps failing and moves on.
    consumer_max_attempts: int = Field(default=5, ge=1, le=100)

    # The bus (distributed modes): Kafka's own tooling uses KAFKA_BOOTSTRAP_SERVERS; the
    # prefixed name works too. Unset in the embedded default, which needs no broker.
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "CUSTOMERHUB_KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    # The published topics (DESIGN's contract); other names only to keep environments apart.
    kafka_customer_topic: str = "customerhub.customer.events"
    kafka_equipment_topic: str = "customerhub.equipment.events"
    # Partitions the relay gives a topic it creates; one customer's events share one partition.
    kafka_topic_partitions: int = Field(default=6, ge=1, le=1000)
    # Events the relay publishes per batch; its checkpoint moves once Kafka acknowledged a batch.
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    # The name the relay's checkpoint is kept under (one per relay of one event log).
    relay_checkpoint_name: str = "customer-command.relay"
    # `customerhub relay` serves `GET /metrics` on this port (on `host`) when it is set.
    relay_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # How consumers (projectors, notifications) get the log: `log` follows the event store
    # (embedded default, standalone services); `kafka` consumes the topics as consumer-group
    # agents: the customers projector in a process of its own (`customerhub consume
    # customers`, customer-query only reads), equipment and notifications in their service.
    consumer_transport: Literal["log", "kafka"] = "log"
    # Consumer groups: `<prefix>.<service>.<consumer>` (customerhub.customer-query.customers).
    kafka_consumer_group_prefix: str = "customerhub"
    # The ownership reconciler records equipment owner changes on the customers; exactly one may
    # run per event log. The write side runs it in-process, unless it runs `separate`ly
    # (`customerhub reconcile`: several command replicas, one reconciler).
    ownership_reconciler: Literal["in-process", "separate"] = "in-process"

    # A request whose Idempotency-Key another request (on any replica) is answering waits this
    # long for that answer, then gets 409; a claim this old without an answer is taken over.
    idempotency_wait_seconds: float = Field(default=10.0, ge=0)
    idempotency_claim_seconds: float = Field(default=60.0, gt=0)

    name_uniqueness: Literal["reject", "warn"] = "reject"
    customer_number_prefix: str = "C"
    customer_number_start: int = 10001
    # Suppliers (created with the supplier role alone) number from a range of their own.
    supplier_number_prefix: str = "S"
    supplier_number_start: int = 70001
    # A create answers the customers it may duplicate (`possible_duplicates`), read from the
    # customers read model; off, creates skip that read.
    duplicate_warnings: bool = True
    # A new customer's language when neither the body nor the creator's `locale` claim gives one.
    default_language: str = Field(default="en", pattern=r"^[a-z]{2}$")

    # `/health/ready` answers 503 while a follower of the log is further behind than this
    # (log positions; seconds the oldest uncovered event has waited); 0 turns a limit off.
    ready_max_lag_events: int = Field(default=10_000, ge=0)
    ready_max_lag_seconds: float = Field(default=300.0, ge=0)
    ready_check_timeout_seconds: float = Field(default=2.0, gt=0)

    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    # Traces leave the process only when this is set (OpenTelemetry's own variable: OTLP/HTTP).
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    max_body_bytes: int = 1_048_576
    # How long a request body may take to arrive (between two of its chunks) before a 408.
    request_body_timeout_seconds: float = Field(default=30.0, gt=0)

    import_max_bytes: int = 52_428_800
    # The largest attachment file accepted (25 MiB); the upload's body may exceed it by the
    # multipart framing only.
    attachment_max_bytes: int = Field(default=26_214_400, ge=1)

    # Where attachments' bytes go: files under the data directory (embedded default), or one
    # bucket of an S3-compatible server (the distributed modes).
    blob_store: Literal["local", "s3"] = "local"
    s3_endpoint: str | None = None
    s3_bucket: str = "customerhub-attachments"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        value = "" if secret is None else secret.get_secret_value()
        if value and len(value.encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(
                f"CUSTOMERHUB_JWT_SECRET has {len(value.encode())} bytes: HS256 needs at least"
                f" {MIN_JWT_SECRET_BYTES} (e.g. `python -c 'import secrets;"
                " print(secrets.token_urlsafe(48))'`)"
            )
        return secret

    @field_validator("keyring_kek")
    @classmethod
    def _a_32_byte_key(cls, kek: SecretStr | None) -> SecretStr | None:
        if kek is not None and kek.get_secret_value():
            _decoded_kek(kek.get_secret_value())
        return kek

    def keyring_key_encryption_key(self) -> bytes | None:
        if self.keyring_kek is None or not self.keyring_kek.get_secret_value():
            return None
        return _decoded_kek(self.keyring_kek.get_secret_value())

    def resolved_jwt_secret(self) -> str:
        """The configured HS256 secret, else one generated once and kept in the data directory.

        Persisting it lets the server and the CLI that mints development tokens agree.
        """
        if self.jwt_secret is not None and self.jwt_secret.get_secret_value():
            return self.jwt_secret.get_secret_value()
        return _persisted_secret(self.data_dir / JWT_SECRET_FILE)


def _decoded_kek(value: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("CUSTOMERHUB_KEYRING_KEK must be base64") from error
    if len(key) != 32:
        raise ValueError(f"CUSTOMERHUB_KEYRING_KEK must decode to 32 bytes, not {len(key)}")
    return key


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; keyword arguments (field names) take precedence."""
    return Settings(**overrides)


def _persisted_secret(path: Path) -> str:
    if not path.exists():
        _create_secret_file(path)
    secret = path.read_text(encoding="utf-8").strip()
    if not secret:
        raise RuntimeError(f"{path} is empty: delete it or set CUSTOMERHUB_JWT_SECRET")
    return secret


def _create_secret_file(path: Path) -> None:
    from customerhub_shared.sqlite_files import new_directories

    new_directories(path.parent)
    draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as draft_file:
        draft_file.write(secrets.token_urlsafe(48))
    try:
        # A hard link never replaces an existing file, so when two processes start at once
        # the first secret wins and both read it back; neither sees a half-written file.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
