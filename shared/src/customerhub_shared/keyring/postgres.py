"""Keys in a PostgreSQL table of their own (local cluster and production without a KMS).

A destroyed key must leave the table's files, not linger as a dead row version until an
autovacuum: destroying rewrites the table (`VACUUM FULL`) once the row is cleared. With a
key-encryption key (`CUSTOMERHUB_KEYRING_KEK`, kept outside the database) a data key is
stored only wrapped, so neither the table nor the write-ahead log ever holds a raw key.
"""

from __future__ import annotations

import os
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg_pool import AsyncConnectionPool

from customerhub_shared.keyring.port import KeyDestroyed, KeyRing
from customerhub_shared.postgres_tables import open_pool

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subject_keys (
    subject      uuid PRIMARY KEY,
    data_key     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz
)
"""
_RAW_KEY = 32
_WRAPPED = b"\x01"  # format marker of a wrapped key: marker, nonce, AES-GCM(key)
_NONCE = 12


class KeyWrapping:
    """Data keys sealed under the key-encryption key, bound to their subject."""

    def __init__(self, key_encryption_key: bytes | None) -> None:
        if key_encryption_key is not None and len(key_encryption_key) != _RAW_KEY:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._kek = None if key_encryption_key is None else AESGCM(key_encryption_key)

    def wrap(self, subject: UUID, key: bytes) -> bytes:
        if self._kek is None:
            return key
        nonce = os.urandom(_NONCE)
        return _WRAPPED + nonce + self._kek.encrypt(nonce, key, subject.bytes)

    def unwrap(self, subject: UUID, stored: bytes) -> bytes:
        if len(stored) == _RAW_KEY:
            return stored  # stored before a key-encryption key was set
        if self._kek is None:
            raise RuntimeError("keys are wrapped: set CUSTOMERHUB_KEYRING_KEK to open them")
        nonce, sealed = stored[1 : 1 + _NONCE], stored[1 + _NONCE :]
        return self._kek.decrypt(nonce, sealed, subject.bytes)


class PostgresKeyRing(KeyRing):
    def __init__(self, pool: AsyncConnectionPool, wrapping: KeyWrapping) -> None:
        self._pool = pool
        self._wrapping = wrapping

    @classmethod
    async def open(cls, dsn: str, *, key_encryption_key: bytes | None = None) -> PostgresKeyRing:
        pool = await open_pool(dsn, _SCHEMA, lock=7311001, max_size=5)
        return cls(pool, KeyWrapping(key_encryption_key))

    async def key_for(self, subject: UUID) -> bytes | None:
        async with self._pool.connection() as db:
            cursor = await db.execute(
                "SELECT data_key FROM subject_keys WHERE subject = %s", (subject,)
            )
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            return None
        return self._wrapping.unwrap(subject, bytes(row[0]))

    async def create_key(self, subject: UUID) -> bytes:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO subject_keys (subject, data_key) VALUES (%s, %s)"
                " ON CONFLICT (subject) DO NOTHING",
                (subject, self._wrapping.wrap(subject, os.urandom(_RAW_KEY))),
            )
            cursor = await db.execute(
                "SELECT data_key FROM subject_keys WHERE subject = %s", (subject,)
            )
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            raise KeyDestroyed(str(subject))
        return self._wrapping.unwrap(subject, bytes(row[0]))

    async def destroy(self, subject: UUID) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO subject_keys (subject, data_key, destroyed_at)"
                " VALUES (%s, NULL, now())"
                " ON CONFLICT (subject) DO UPDATE SET data_key = NULL, destroyed_at = now()",
                (subject,),
            )
            await db.commit()
            # The cleared row's old version still holds the key until the table is rewritten.
            # VACUUM runs outside a transaction; it waits for sessions reading the table.
            await db.set_autocommit(True)
            try:
                await db.execute("VACUUM FULL subject_keys")
            finally:
                await db.set_autocommit(False)

    async def close(self) -> None:
        await self._pool.close()
