"""The SMTP adapter against a real SMTP server (aiosmtpd): plain, STARTTLS with AUTH, and the
replies that make a failure transient (4xx, no server) or permanent (5xx)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifications.adapters.smtp import SmtpEmailSender
from notifications.application.ports import OutgoingMessage, PermanentFailure, TransientFailure
from notifications.domain.deliveries import Message
from tests.integration.notifications.certificates import self_signed, server_context
from tests.integration.notifications.servers import MailServer, mail_server
from tests.support.processes import free_port

FROM = "Service Martin <service@customerhub.example>"


def outgoing(to: str = "claire@martin.example") -> OutgoingMessage:
    message = Message(
        subject="Votre technicien est en route",
        text="Marc est en route et devrait arriver vers 14:30.\n",
        html="<p><strong>Marc</strong> est en route.</p>",
    )
    return OutgoingMessage(uuid.uuid4(), "email", to, message)


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with mail_server() as server:
        yield server


def sender(server: MailServer, **options: object) -> SmtpEmailSender:
    settings: dict[str, object] = {"security": "none", "timeout": 5.0} | options
    return SmtpEmailSender(host=server.host, port=server.port, mail_from=FROM, **settings)  # type: ignore[arg-type]


async def test_a_message_arrives_with_text_and_html_parts_and_a_stable_message_id(
    mail: MailServer,
) -> None:
    smtp = sender(mail)
    message = outgoing()
    try:
        sent = await smtp.send(message)
        await smtp.send(outgoing("marc@martin.example"))  # over the same connection
    finally:
        await smtp.close()
    first = mail.received[0]
    assert first.rcpt_tos == ("claire@martin.example",)
    assert first.mail_from == "service@customerhub.example"
    assert first.subject == "Votre technicien est en route"
    assert first.text == "Marc est en route et devrait arriver vers 14:30.\n"
    assert "<strong>Marc</strong>" in first.html
    assert first.message_id == f"<{message.delivery_id}@customerhub.example>"
    assert sent.provider_message_id == first.message_id
    assert len(mail.received) == 2


async def test_starttls_and_auth_as_configured_for_production(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with mail_server(
        tls_context=server_context(cert, key),
        require_starttls=True,
        credentials=("relay-user", "relay-pass"),
    ) as server:
        smtp = sender(
            server,
            security="starttls",
            username="relay-user",
            password="relay-pass",
            ca_file=cert,
        )
        try:
            await smtp.send(outgoing())
        finally:
            await smtp.close()
        assert [m.to for m in server.received] == ["claire@martin.example"]
        assert server.logins == ["relay-user"]


async def test_a_wrong_password_is_refused_permanently(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with mail_server(
        tls_context=server_context(cert, key),
        require_starttls=True,
        credentials=("relay-user", "relay-pass"),
    ) as server:
        smtp = sender(
            server, security="starttls", username="relay-user", password="nope", ca_file=cert
        )
        with pytest.raises(PermanentFailure) as refused:
            await smtp.send(outgoing())
        assert refused.value.reason == "smtp_535"
        assert server.received == []


async def test_a_4xx_reply_is_transient_and_a_5xx_permanent(mail: MailServer) -> None:
    mail.refuse("busy@martin.example", "451 4.3.0 Mailbox busy, try later")
    mail.refuse("nobody@martin.example", "550 5.1.1 No such user")
    smtp = sender(mail)
    try:
        with pytest.raises(TransientFailure) as busy:
            await smtp.send(outgoing("busy@martin.example"))
        with pytest.raises(PermanentFailure) as nobody:
            await smtp.send(outgoing("nobody@martin.example"))
        await smtp.send(outgoing("busy@martin.example"))  # the server accepts it now
    finally:
        await smtp.close()
    assert busy.value.reason == "smtp_451"
    assert nobody.value.reason == "recipient_refused"
    assert [m.to for m in mail.received] == ["busy@martin.example"]


async def test_no_server_is_a_transient_failure() -> None:
    smtp = SmtpEmailSender(host="127.0.0.1", port=free_port(), mail_from=FROM, security="none")
    with pytest.raises(TransientFailure) as failure:
        await smtp.send(outgoing())
    assert failure.value.reason == "connection"


async def test_an_unusable_address_fails_at_once_without_a_connection() -> None:
    smtp = SmtpEmailSender(host="127.0.0.1", port=free_port(), mail_from=FROM, security="none")
    with pytest.raises(PermanentFailure) as failure:
        await smtp.send(outgoing("claire@martin.example\r\nBcc: x@y.example"))
    assert failure.value.reason == "invalid_address"
