"""The blob store port: whole objects under a key, written once, read, and removed for good."""

from __future__ import annotations

import abc
import re

# Keys are made by the application (e.g. `attachments/<uuid>`), never from a client's input:
# this shape keeps them safe as file paths and as S3 keys alike.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class BlobNotFound(LookupError):
    """No object under that key (never written, or removed)."""


class BlobStoreUnavailable(RuntimeError):
    """The store could not be reached or refused the request; nothing was changed."""


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"not a blob key: {key!r}")
    return key


class BlobStore(abc.ABC):
    @abc.abstractmethod
    async def put(self, key: str, content: bytes) -> None:
        """Store the bytes under the key, replacing what was there; durable once it returns."""

    @abc.abstractmethod
    async def get(self, key: str) -> bytes:
        """The bytes under the key; BlobNotFound if there are none."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; removing one that is not there is no error (retries are safe)."""

    @abc.abstractmethod
    async def close(self) -> None: ...
