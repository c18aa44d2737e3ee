"""The RFC 5322 message of an email delivery: plain text and HTML alternatives, UTF-8.

Its Message-ID is derived from the delivery id, so a message sent again inside the duplicate
window carries the same Message-ID, which mail clients and archives use to drop the copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from notifications.application.ports import OutgoingMessage

DELIVERY_HEADER = "X-Customerhub-Delivery"


def sender_domain(mail_from: str) -> str:
    addresses = getaddresses([mail_from])
    address = addresses[0][1] if addresses else ""
    return address.rpartition("@")[2] or "customerhub.localhost"


def build_email(outgoing: OutgoingMessage, *, mail_from: str) -> EmailMessage:
    message = outgoing.message
    email = EmailMessage()
    email["From"] = mail_from
    local, _, domain = outgoing.recipient.rpartition("@")
    email["To"] = Address(addr_spec=f"{local}@{domain}")
    email["Subject"] = message.subject or ""
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = f"<{outgoing.delivery_id}@{sender_domain(mail_from)}>"
    email[DELIVERY_HEADER] = str(outgoing.delivery_id)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    return email
