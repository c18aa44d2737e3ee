"""The notification service killed (SIGKILL) during a burst of 500 notifications, then
restarted: every message is delivered, and the duplicates the servers received are within
the documented window: messages the provider accepted whose outcome was not recorded yet,
never more than the attempts the restarted service reports `in_doubt` (started, outcome
unknown), which are at most one dispatch batch per channel.

The burst: 250 customers, each with a main contact opted into email (a welcome email) and an
SMS-only contact on the equipment-alert list, and one equipment item assigned (an SMS).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import customer_command.bootstrap as customer_command
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import handle
from customer_command.domain.values import NewContact, NewCustomer
from customerhub_shared.infrastructure import open_infrastructure, open_read_store
from customerhub_shared.readstore import Query
from customerhub_shared.settings import Settings
from tests.integration.notifications.servers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SMS_FROM,
    MailServer,
    SmsProvider,
    mail_server,
    sms_provider,
)
from tests.support.processes import free_port, wait_until_serving

pytestmark = pytest.mark.slow
CUSTOMERS = 250
CONCURRENCY = 8
EXPECTED = 2 * CUSTOMERS
DISPATCH_BATCH = 16
SECRET = "notification-recovery-secret-0123456789"


def phone(n: int) -> str:
    return f"+336{n:08d}"


async def write_burst(settings: Settings) -> None:
    """The customers, straight through customer-command's handlers and repository."""
    infra = await open_infrastructure(settings)
    service = customer_command.build_command_service(infra, settings)
    ctx = CommandContext(actor="burst", correlation_id="notification-recovery")
    try:
        for n in range(CUSTOMERS):
            customer_id = uuid.uuid4()
            details = NewCustomer.model_validate(
                {"name": f"Client {n}", "language": "fr", "main_location": {"city": "Lyon"}}
            )
            await handle(c.CreateCustomer(customer_id, details), ctx, service.ports)
            main = {
                "name": f"Main {n}",
                "email": f"main{n}@burst.example",
                "main": True,
                "notify": {"email": True},
            }
            alerts = {
                "name": f"Alerts {n}",
                "phone": phone(n),
                "notify": {"sms": True},
                "equipment_alerts": True,
            }
            for body in (main, alerts):
                contact = NewContact.model_validate(body)
                await handle(c.AddContact(customer_id, uuid.uuid4(), contact), ctx, service.ports)
            loaded = await service.ports.customers.get(customer_id)
            loaded.customer.assign_equipment(uuid.uuid4())
            await service.ports.customers.save(loaded.customer, ctx)
    finally:
        await infra.close()


async def delivery_statuses(settings: Settings) -> Counter[str]:
    store = await open_read_store(settings)
    try:
        found = await store.find(
            "notifications", Query(equals={"kind": "delivery"}, limit=10 * EXPECTED)
        )
    finally:
        await store.close()
    return Counter(document["delivery"]["status"] for document in found)


@pytest.fixture
def servers() -> Iterator[tuple[MailServer, SmsProvider]]:
    with mail_server() as mail, sms_provider() as sms:
        yield mail, sms


def start_service(
    data_dir: Path, mail: MailServer, sms: SmsProvider, port: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CUSTOMERHUB_DATA_DIR": str(data_dir),
        "CUSTOMERHUB_JWT_SECRET": SECRET,
        "CUSTOMERHUB_LOG_LEVEL": "WARNING",
        "CUSTOMERHUB_SMTP_HOST": mail.host,
        "CUSTOMERHUB_SMTP_PORT": str(mail.port),
        "CUSTOMERHUB_SMTP_SECURITY": "none",
        "CUSTOMERHUB_MAIL_FROM": "service@customerhub.example",
        "CUSTOMERHUB_SMS_API_URL": sms.url,
        "CUSTOMERHUB_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "CUSTOMERHUB_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "CUSTOMERHUB_SMS_FROM": SMS_FROM,
        "CUSTOMERHUB_NOTIFICATION_DISPATCH_BATCH": str(DISPATCH_BATCH),
        "CUSTOMERHUB_NOTIFICATION_CONCURRENCY": str(CONCURRENCY),
        # Quick retries, and enough of them that a hiccup of a busy machine is not a failure.
        "CUSTOMERHUB_NOTIFICATION_RETRY_BASE_SECONDS": "0.1",
        "CUSTOMERHUB_NOTIFICATION_MAX_ATTEMPTS": "10",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "notifications", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_until_serving(f"http://127.0.0.1:{port}/health", process)
    return process


def received(mail: MailServer, sms: SmsProvider) -> tuple[int, int]:
    """(messages received, distinct messages received) over both servers."""
    emails = [m.message_id for m in mail.received]
    texts = [m.to for m in sms.received]
    return len(emails) + len(texts), len(set(emails)) + len(set(texts))


def in_doubt_reported(output: bytes) -> int:
    total = 0
    for line in output.decode(errors="replace").splitlines():
        if line.startswith("{") and '"notifications.in_doubt"' in line:
            total += int(json.loads(line)["count"])
    return total


def test_a_service_killed_mid_burst_delivers_everything_with_duplicates_only_in_the_window(
    tmp_path: Path, servers: tuple[MailServer, SmsProvider]
) -> None:
    mail, sms = servers
    settings = Settings(data_dir=tmp_path, jwt_secret=SECRET, log_level="WARNING")
    asyncio.run(write_burst(settings))

    port = free_port()
    first = start_service(tmp_path, mail, sms, port)
    deadline = time.monotonic() + 60
    while received(mail, sms)[0] < EXPECTED // 3:
        assert first.poll() is None, first.stdout.read().decode() if first.stdout else ""
        assert time.monotonic() < deadline, "the service delivered too little"
        time.sleep(0.002)
    first.send_signal(signal.SIGKILL)
    first.wait()
    at_kill = received(mail, sms)[0]
    assert at_kill < EXPECTED, "the kill must land mid-burst"

    second = start_service(tmp_path, mail, sms, port)
    try:
        deadline = time.monotonic() + 60
        while received(mail, sms)[1] < EXPECTED:
            assert second.poll() is None, "the restarted service exited"
            assert time.monotonic() < deadline, f"delivered {received(mail, sms)} of {EXPECTED}"
            time.sleep(0.02)
        statuses = asyncio.run(delivery_statuses(settings))
        while statuses.get("sent", 0) < EXPECTED and time.monotonic() < deadline:
            time.sleep(0.05)
            statuses = asyncio.run(delivery_statuses(settings))
        time.sleep(0.3)  # anything still on its way arrives
    finally:
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=30)

    total, distinct = received(mail, sms)
    duplicates = total - distinct
    in_doubt = in_doubt_reported(output)
    sys.stdout.write(
        f"\nkilled after {at_kill}/{EXPECTED} messages; {in_doubt} attempts in doubt at restart;"
        f" {duplicates} duplicate(s) received\n"
    )
    assert distinct == EXPECTED
    assert statuses == Counter({"sent": EXPECTED})
    # The window: the attempts open at the kill, at most one dispatch batch per channel.
    assert duplicates <= in_doubt <= 2 * DISPATCH_BATCH
