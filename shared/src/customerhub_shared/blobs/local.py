"""Blobs as files under the data directory (the embedded default): 0600 files in 0700 folders."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path

from customerhub_shared.blobs.port import BlobNotFound, BlobStore, check_key
from customerhub_shared.sqlite_files import PRIVATE_FILE, new_directories, private_directory


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, content: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), content)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(_shred, self._path(key))

    async def close(self) -> None:
        return None

    def _write(self, path: Path, content: bytes) -> None:
        private_directory(self.root)
        new_directories(path.parent)
        # Written aside, synced, then renamed: a crash leaves the old object or the new one.
        draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(draft, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                draft.unlink()
            raise
        _sync_directory(path.parent)


def _shred(path: Path) -> None:
    """Zero the file's bytes before unlinking it, so its blocks do not keep the content where
    the file system reuses them in place (best effort: copy-on-write disks keep old blocks)."""
    try:
        descriptor = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    with os.fdopen(descriptor, "wb") as file:
        size = os.fstat(file.fileno()).st_size
        file.write(bytes(size))
        file.flush()
        os.fsync(file.fileno())
    path.unlink(missing_ok=True)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
