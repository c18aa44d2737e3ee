"""The embedded default's channels: messages written as files under the outbox directory."""

from __future__ import annotations

import email
import email.policy
import json
import stat
import uuid
from pathlib import Path

import pytest

from notifications.adapters.outbox_files import OutboxFiles
from notifications.application.ports import OutgoingMessage, PermanentFailure
from notifications.domain.deliveries import Message


async def test_an_email_is_a_complete_eml_file_named_by_its_delivery(tmp_path: Path) -> None:
    outbox = OutboxFiles(tmp_path, "email", sender="no-reply@customerhub.example")
    delivery = uuid.uuid4()
    message = Message(subject="Bienvenue, Claire", text="Bonjour Claire,\n", html="<p>Bonjour</p>")
    await outbox.send(OutgoingMessage(delivery, "email", "claire@martin.example", message))
    await outbox.send(OutgoingMessage(delivery, "email", "claire@martin.example", message))
    [written] = list((tmp_path / "email").iterdir())
    assert written.name == f"{delivery}.eml"
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "claire@martin.example"
    assert parsed["Subject"] == "Bienvenue, Claire"


async def test_an_sms_is_a_json_file(tmp_path: Path) -> None:
    outbox = OutboxFiles(tmp_path, "sms", sender="+15005550006")
    delivery = uuid.uuid4()
    await outbox.send(OutgoingMessage(delivery, "sms", "+33612345678", Message(text="Marc arrive")))
    written = json.loads((tmp_path / "sms" / f"{delivery}.json").read_text())
    assert written == {"to": "+33612345678", "from": "+15005550006", "body": "Marc arrive"}


async def test_a_bad_number_fails_in_the_outbox_as_it_would_at_the_provider(tmp_path: Path) -> None:
    outbox = OutboxFiles(tmp_path, "sms", sender="x")
    with pytest.raises(PermanentFailure):
        await outbox.send(OutgoingMessage(uuid.uuid4(), "sms", "0612", Message(text="x")))


async def test_forgetting_deliveries_removes_their_files_and_drafts_and_keeps_others(
    tmp_path: Path,
) -> None:
    outbox = OutboxFiles(tmp_path / "outbox", "sms", sender="+15005550006")
    gone, kept = uuid.uuid4(), uuid.uuid4()
    for delivery in (gone, kept):
        await outbox.send(OutgoingMessage(delivery, "sms", "+33612345678", Message(text="Marc")))
    draft = tmp_path / "outbox" / "sms" / f".{gone}.json.0123abcd"
    draft.write_text('{"to": "+33612345678"}')
    written = tmp_path / "outbox" / "sms" / f"{kept}.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
    await outbox.forget([gone])
    assert [path.name for path in written.parent.iterdir()] == [written.name]
