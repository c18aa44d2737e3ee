"""Real servers the notification tests (and bench/notification_delivery.py) send to.

- `MailServer`: aiosmtpd, a real SMTP server on 127.0.0.1 in its own thread; optionally with
  STARTTLS required and AUTH, as a production relay would be configured.
- `SmsProvider`: a stand-in for an external SMS provider — a small local HTTP server (stdlib
  http.server, its own threads) that speaks the part of Twilio's Messages API the service
  uses: `POST /2010-04-01/Accounts/{sid}/Messages.json` with form fields To, From, Body and
  HTTP basic auth, answering 201 with a message `sid` as Twilio does, or Twilio-shaped errors
  (400 code 21211 for a number that is not E.164). It is not Twilio: no carrier, no delivery
  receipts; tests can script its answers (503, 429 with Retry-After, 400, slow answers).
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.processes import free_port

# -- SMTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedEmail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    received_at: float

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        content: str = body.get_content()
        return content.replace("\r\n", "\n")

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")


class _MailHandler:
    def __init__(self, server: MailServer) -> None:
        self._server = server

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        scripted = self._server._scripted(address)
        if scripted is not None:
            return scripted
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        received = ReceivedEmail(
            str(envelope.mail_from), tuple(envelope.rcpt_tos), message, time.time()
        )
        with self._server._lock:
            self._server._received.append(received)
            self._server._users.append(
                session.auth_data.login.decode() if session.auth_data else None
            )
        return "250 Message accepted for delivery"


class MailServer:
    """An aiosmtpd server; `received` is every message it accepted, in order."""

    def __init__(
        self,
        *,
        tls_context: Any = None,
        require_starttls: bool = False,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._lock = threading.Lock()
        self._received: list[ReceivedEmail] = []
        self._users: list[str | None] = []
        self._refusals: dict[str, deque[str]] = {}
        kwargs: dict[str, Any] = {}
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=require_starttls)
        if credentials is not None:
            expected = (credentials[0].encode(), credentials[1].encode())

            def authenticate(
                server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
            ) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (data.login, data.password) == expected
                return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

            kwargs.update(authenticator=authenticate, auth_required=True)
        self._controller = Controller(
            _MailHandler(self), hostname=self.host, port=self.port, **kwargs
        )

    def start(self) -> MailServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def refuse(self, address: str, *replies: str) -> None:
        """Answer RCPT TO `address` with these replies, one per attempt (e.g. '451 4.3.0 …')."""
        with self._lock:
            self._refusals.setdefault(address, deque()).extend(replies)

    def _scripted(self, address: str) -> str | None:
        with self._lock:
            replies = self._refusals.get(address)
            return replies.popleft() if replies else None

    @property
    def received(self) -> list[ReceivedEmail]:
        with self._lock:
            return list(self._received)

    @property
    def logins(self) -> list[str | None]:
        with self._lock:
            return list(self._users)

    def to(self, address: str) -> list[ReceivedEmail]:
        return [m for m in self.received if address in m.rcpt_tos]


@contextmanager
def mail_server(**options: Any) -> Iterator[MailServer]:
    server = MailServer(**options).start()
    try:
        yield server
    finally:
        server.stop()


# -- SMS (a stand-in for Twilio) ----------------------------------------------------------------

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "stand-in-auth-token"
SMS_FROM = "+15005550006"
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


@dataclass(frozen=True)
class ReceivedSms:
    sid: str
    to: str
    sender: str
    body: str
    received_at: float


@dataclass
class Scripted:
    """One scripted answer: a status, optional headers and Twilio-style error code, a delay."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    code: int | None = None
    delay: float = 0.0


class SmsProvider:
    """The stand-in provider; `received` lists the messages it accepted (answered 201)."""

    def __init__(self, *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._received: list[ReceivedSms] = []
        self._requests: list[str] = []
        self._scripts: dict[str, deque[Scripted]] = {}
        self.delay = 0.0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet

            def do_POST(self) -> None:
                try:
                    provider._handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test)

        self._server = _QuietServer(("127.0.0.1", free_port()), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SmsProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, to: str, *answers: Scripted) -> None:
        """Answer the next requests for `to` with these, in order, before accepting again."""
        with self._lock:
            self._scripts.setdefault(to, deque()).extend(answers)

    @property
    def received(self) -> list[ReceivedSms]:
        with self._lock:
            return list(self._received)

    @property
    def requests(self) -> list[str]:
        """The `To` of every request, whatever it was answered."""
        with self._lock:
            return list(self._requests)

    def to(self, number: str) -> list[ReceivedSms]:
        return [m for m in self.received if m.to == number]

    # -- the API

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        match = _MESSAGES.match(request.path)
        if match is None or match["sid"] != self.account_sid:
            return _answer(request, 404, _error(20404, "The requested resource was not found"))
        if not self._authorised(request.headers.get("Authorization")):
            return _answer(request, 401, _error(20003, "Authenticate"))
        form = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        with self._lock:
            self._requests.append(to)
            queued = self._scripts.get(to)
            scripted = queued.popleft() if queued else None
        pause = scripted.delay if scripted else self.delay
        if pause:
            time.sleep(pause)
        if scripted is not None and scripted.status >= 300:
            code = scripted.code or {429: 20429, 503: 20503}.get(scripted.status, 20500)
            error = _error(code, f"scripted {scripted.status}")
            return _answer(request, scripted.status, error, scripted.headers)
        if not _E164.match(to):
            message = f"The 'To' number {to} is not a valid phone number."
            return _answer(request, 400, _error(21211, message))
        if not body or not sender:
            return _answer(request, 400, _error(21602, "Message body and From are required"))
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self._received.append(ReceivedSms(sid, to, sender, body, time.time()))
        answer = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": sender,
            "body": body,
            "status": "queued",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        _answer(request, 201, answer)

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        return base64.b64decode(header.removeprefix("Basic ")) == expected


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 128  # many connections at once (bench, restarted service)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-connection (the recovery test) is expected, not worth a trace.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _error(code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }


def _answer(
    request: BaseHTTPRequestHandler,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    if status >= 400:
        body = {**body, "status": status}
    payload = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(payload)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(payload)


@contextmanager
def sms_provider() -> Iterator[SmsProvider]:
    provider = SmsProvider().start()
    try:
        yield provider
    finally:
        provider.stop()
