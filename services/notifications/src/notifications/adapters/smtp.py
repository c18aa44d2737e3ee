"""Email over SMTP with aiosmtplib, to any server: STARTTLS or implicit TLS, and AUTH when a
username is set. Connections are pooled and reused; one idle too long is opened again.

SMTP replies decide the outcome: 4xx (and lost connections, timeouts) are transient, 5xx
permanent, as RFC 5321 defines them.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path

import aiosmtplib

from notifications.adapters.email_message import build_email
from notifications.application.ports import (
    MessageSender,
    OutgoingMessage,
    PermanentFailure,
    Sent,
    TransientFailure,
)
from notifications.domain.reachability import is_plausible_email
from notifications.settings import SmtpSecurity

# Servers drop idle sessions (often after a minute or more); reopen well before that.
_IDLE_SECONDS = 20.0


class SmtpEmailSender(MessageSender):
    channel = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        mail_from: str,
        security: SmtpSecurity = "starttls",
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        timeout: float = 30.0,
        connections: int = 4,
    ) -> None:
        self.description = f"smtp://{host}:{port} ({security})"
        self._host = host
        self._port = port
        self._mail_from = mail_from
        self._security = security
        self._username = username
        self._password = password
        self._tls_context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self._timeout = timeout
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    async def send(self, message: OutgoingMessage) -> Sent:
        if not is_plausible_email(message.recipient):
            raise PermanentFailure("invalid_address", "the recipient is not a usable address")
        email = build_email(message, mail_from=self._mail_from)
        async with self._slots:
            client = await self._checkout()
            try:
                await client.send_message(email)
            except aiosmtplib.SMTPException as error:
                _discard(client)
                raise _failure(error) from error
            except OSError as error:
                _discard(client)
                raise TransientFailure("connection", str(error)) from error
            self._idle.append((client, time.monotonic()))
        return Sent(provider_message_id=str(email["Message-ID"]))

    async def _checkout(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and time.monotonic() - since < _IDLE_SECONDS:
                return client
            await _quit(client)
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._security == "tls",
            start_tls={"starttls": True, "opportunistic": None}.get(self._security, False),
            tls_context=self._tls_context,
            timeout=self._timeout,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPException as error:
            _discard(client)
            raise _failure(error) from error
        except OSError as error:
            raise TransientFailure("connection", str(error)) from error
        return client

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client, _ in idle:
            await _quit(client)


def _failure(error: aiosmtplib.SMTPException) -> TransientFailure | PermanentFailure:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        if any(400 <= code < 500 for code in codes):
            return TransientFailure(f"smtp_{min(codes)}", str(error))
        return PermanentFailure("recipient_refused", str(error))
    if isinstance(error, aiosmtplib.SMTPResponseException):
        if 400 <= error.code < 500:
            return TransientFailure(f"smtp_{error.code}", error.message)
        return PermanentFailure(f"smtp_{error.code}", error.message)
    if isinstance(error, aiosmtplib.SMTPTimeoutError):
        return TransientFailure("timeout", str(error))
    # Lost connection, refused connection, a TLS upgrade that failed.
    return TransientFailure("connection", str(error))


def _discard(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        client.close()


async def _quit(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
