"""Blobs sealed with their customer's key (AES-GCM, bound to the blob's id), as events' personal
fields are: once the key is destroyed, every copy of the bytes a store kept (an S3 server's
deleted-but-not-compacted objects, versions, backups) is unreadable."""

from __future__ import annotations

import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


def seal(key: bytes, blob_id: UUID, content: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, content, blob_id.bytes)


def open_sealed(key: bytes | None, blob_id: UUID, sealed: bytes) -> bytes | None:
    """The content; None without the key, or when the bytes were not sealed for this blob."""
    if key is None:
        return None
    try:
        return AESGCM(key).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], blob_id.bytes)
    except InvalidTag:
        return None
