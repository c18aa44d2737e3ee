"""Uploaded lists stored sealed under a key of their own, destroyed when the import ends.

A list holds personal data that anonymising a customer cannot reach. Dropping the file when
the import ends is not enough where the database keeps old row versions and a write-ahead
log (PostgreSQL): what they keep is ciphertext whose key is gone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from customer_command.application.imports.ports import (
    FINISHED,
    ImportRecord,
    ImportStore,
    RowNote,
)
from customerhub_shared.keyring import KeyRing

# No CSV or XLSX starts with a NUL byte: a list stored before sealing is read as it is.
_SEALED = b"\x00sealed-upload-1\x00"
_NONCE = 12


class UploadKeyLost(RuntimeError):
    """The list's key is gone (its import ended): the list cannot be read again."""


class SealedUploads(ImportStore):
    """An import store whose uploaded lists are sealed with the keyring (subject: import id)."""

    def __init__(self, store: ImportStore, keyring: KeyRing) -> None:
        self._store = store
        self._keyring = keyring

    async def add(self, record: ImportRecord, content: bytes) -> None:
        key = await self._keyring.create_key(record.import_id)
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(key).encrypt(nonce, content, record.import_id.bytes)
        await self._store.add(record, _SEALED + nonce + sealed)

    async def content(self, import_id: UUID) -> bytes:
        stored = await self._store.content(import_id)
        if not stored.startswith(_SEALED):
            return stored
        key = await self._keyring.key_for(import_id)
        if key is None:
            raise UploadKeyLost(str(import_id))
        raw = stored[len(_SEALED) :]
        return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], import_id.bytes)

    async def save_progress(self, record: ImportRecord, notes: Sequence[RowNote]) -> None:
        await self._store.save_progress(record, notes)
        if record.status in FINISHED:
            await self._keyring.destroy(record.import_id)

    async def get(self, import_id: UUID) -> ImportRecord | None:
        return await self._store.get(import_id)

    async def notes(self, import_id: UUID, *, limit: int) -> list[RowNote]:
        return await self._store.notes(import_id, limit=limit)

    async def unfinished(self) -> list[ImportRecord]:
        return await self._store.unfinished()

    async def close(self) -> None:
        await self._store.close()
