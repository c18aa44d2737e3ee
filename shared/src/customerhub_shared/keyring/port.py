"""The keyring port: one data key per subject (customer); destroying it shreds its personal data."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence
from uuid import UUID


class KeyDestroyed(Exception):
    """The subject was anonymised: its key is gone for good and is never created again."""


class KeyRing(abc.ABC):
    @abc.abstractmethod
    async def key_for(self, subject: UUID) -> bytes | None:
        """The subject's key; None if it never had one or it was destroyed."""

    async def keys_for(self, subjects: Sequence[UUID]) -> dict[UUID, bytes]:
        """The keys of the subjects that have one (a store may look them up together)."""
        found = await asyncio.gather(*(self.key_for(subject) for subject in subjects))
        return {subject: key for subject, key in zip(subjects, found, strict=True) if key}

    @abc.abstractmethod
    async def create_key(self, subject: UUID) -> bytes:
        """The subject's key, made on first use; KeyDestroyed if it was destroyed."""

    @abc.abstractmethod
    async def destroy(self, subject: UUID) -> None:
        """Forget the key for ever, leaving a tombstone so it is never made again."""

    @abc.abstractmethod
    async def close(self) -> None: ...
