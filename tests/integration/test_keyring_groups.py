"""Keys asked for together on the SQLite keyring are created in one commit, and each caller
still gets its own subject's key (or KeyDestroyed for a destroyed subject alone)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import pytest

from customerhub_shared.keyring import KeyDestroyed
from customerhub_shared.keyring.sqlite import SQLiteKeyRing


async def test_keys_asked_for_together_are_each_their_subject_s(tmp_path: Path) -> None:
    keyring = SQLiteKeyRing(tmp_path / "keys.db")
    forgotten = uuid.uuid4()
    await keyring.destroy(forgotten)
    subjects = [uuid.uuid4() for _ in range(30)]
    asked = [keyring.create_key(subject) for subject in [*subjects, subjects[0], forgotten]]
    keys = await asyncio.gather(*asked, return_exceptions=True)

    assert isinstance(keys[-1], KeyDestroyed)
    assert keys[0] == keys[-2] and len(set(keys[:30])) == 30
    assert all(isinstance(key, bytes) and len(key) == 32 for key in keys[:-1])
    # One commit writes each changed page once to the log; one commit per key, 30 times over.
    with sqlite3.connect(tmp_path / "keys.db") as db:
        _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames < 10
    again = SQLiteKeyRing(tmp_path / "keys.db")
    assert [await again.key_for(subject) for subject in subjects] == keys[:30]
    with pytest.raises(KeyDestroyed):
        await again.create_key(forgotten)
    await again.close()
    await keyring.close()
