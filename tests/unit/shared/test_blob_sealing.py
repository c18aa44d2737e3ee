"""Blobs sealed with a customer's key: opened only with that key and for that blob."""

from __future__ import annotations

import os
from uuid import uuid4

from customerhub_shared.blobs.sealing import open_sealed, seal


def test_sealed_bytes_open_with_the_key_for_the_same_blob_only() -> None:
    key, blob_id, content = os.urandom(32), uuid4(), b"Contrat Claire Martin" * 100
    sealed = seal(key, blob_id, content)
    assert b"Claire" not in sealed
    assert open_sealed(key, blob_id, sealed) == content
    assert open_sealed(None, blob_id, sealed) is None, "a destroyed key opens nothing"
    assert open_sealed(os.urandom(32), blob_id, sealed) is None
    assert open_sealed(key, uuid4(), sealed) is None, "not swappable between attachments"
