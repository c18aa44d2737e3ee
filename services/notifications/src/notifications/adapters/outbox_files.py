"""The embedded default's channels: with no SMTP host or SMS API set, each message is written
as a file under `<data dir>/outbox/` instead — `email/<delivery id>.eml` (the full message,
as an SMTP server would get it) and `sms/<delivery id>.json` ({to, from, body}).

Files are named by delivery id and written atomically, so a message written again after a
crash replaces its own file: the outbox never holds a duplicate.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

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


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with open(draft, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(draft, path)
