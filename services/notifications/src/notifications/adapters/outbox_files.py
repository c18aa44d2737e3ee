"""The embedded default's channels: with no SMTP host or SMS API set, each message is written
as a file under `<data dir>/outbox/` instead — `email/<delivery id>.eml` (the full message,
as an SMTP server would get it) and `sms/<delivery id>.json` ({to, from, body}).

Files are named by delivery id and written atomically, so a message written again after a
crash replaces its own file: the outbox never holds a duplicate. They are private to their
owner, and anonymising the customer overwrites and removes them (`forget`).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

from customerhub_shared.sqlite_files import PRIVATE_FILE, new_directories
from notifications.adapters.email_message import build_email
from notifications.application.ports import (
    MessageSender,
    OutgoingMessage,
    PermanentFailure,
    Sent,
)
from notifications.domain.reachability import is_e164, is_plausible_email
from notifications.domain.templates import Channel


class OutboxFiles(MessageSender):
    def __init__(self, directory: Path, channel: Channel, *, sender: str) -> None:
        self.channel = channel
        self.directory = directory / channel
        self.description = f"files in {self.directory}"
        self._sender = sender

    async def send(self, message: OutgoingMessage) -> Sent:
        if self.channel == "email":
            if not is_plausible_email(message.recipient):
                raise PermanentFailure("invalid_address", "the recipient is not a usable address")
            name = f"{message.delivery_id}.eml"
            content = bytes(build_email(message, mail_from=self._sender))
        else:
            if not is_e164(message.recipient):
                raise PermanentFailure("invalid_number", "the recipient is not an E.164 number")
            name = f"{message.delivery_id}.json"
            sms = {"to": message.recipient, "from": self._sender, "body": message.message.text}
            content = json.dumps(sms, ensure_ascii=False, indent=2).encode()
        await asyncio.to_thread(_write_atomically, self.directory / name, content)
        return Sent(provider_message_id=f"file:{self.channel}/{name}")

    async def forget(self, delivery_ids: Sequence[UUID]) -> None:
        await asyncio.to_thread(self._forget, delivery_ids)

    def _forget(self, delivery_ids: Sequence[UUID]) -> None:
        suffix = ".eml" if self.channel == "email" else ".json"
        for delivery_id in delivery_ids:
            name = f"{delivery_id}{suffix}"
            # Drafts a crash left behind hold the same message.
            for path in [self.directory / name, *self.directory.glob(f".{name}.*")]:
                _overwrite_and_remove(path)


def _write_atomically(path: Path, content: bytes) -> None:
    new_directories(path.parent)
    draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(draft, path)


def _overwrite_and_remove(path: Path) -> None:
    """Zero the file's bytes in place before unlinking it, so its blocks are not left holding
    the message."""
    try:
        descriptor = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    with os.fdopen(descriptor, "wb") as file:
        file.write(bytes(os.fstat(file.fileno()).st_size))
        file.flush()
        os.fsync(file.fileno())
    path.unlink(missing_ok=True)
