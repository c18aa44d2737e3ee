"""Notifications delivered per second to a real SMTP server and to the SMS provider stand-in,
and the time from a command's answer to the message's arrival.

Starts, on this machine: aiosmtpd (a real SMTP server) and the Messages API stand-in from
tests/integration/notifications/servers.py, in this process; `customerhub run` (commands and
queries) and, unless the embedded app serves /v1/notifications already, the notification
service (`python -m notifications run`) as its own process on the same data directory.

Two phases:
- event path: N customers are created and given a main contact opted into email and SMS;
  latency from the add-contact command's answer to the welcome email's arrival.
- request path: R `POST /v1/notifications` (technician_en_route, one email and one SMS each)
  from C concurrent clients; messages/s per channel, and latency from the 202 answer to each
  message's arrival.

    uv run python bench/notification_delivery.py [--customers 200] [--requests 1000] [--clients 16]

Servers, services and clients share the machine's CPUs. Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from _stats import machine_line, percentile

from customerhub_shared.http.auth import mint_token

REPO = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r"Tech\d{6}")


def servers_module() -> ModuleType:
    """The test servers (tests/ is not installed: import it from the checkout)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module("tests.integration.notifications.servers")


def free_port() -> int:
    return int(servers_module().free_port())


def environment(data_dir: Path, secret: str, mail: Any, sms: Any, s: ModuleType) -> dict[str, str]:
    return {
        **os.environ,
        "CUSTOMERHUB_DATA_DIR": str(data_dir),
        "CUSTOMERHUB_JWT_SECRET": secret,
        "CUSTOMERHUB_LOG_LEVEL": "WARNING",
        "CUSTOMERHUB_SMTP_HOST": mail.host,
        "CUSTOMERHUB_SMTP_PORT": str(mail.port),
        "CUSTOMERHUB_SMTP_SECURITY": "none",
        "CUSTOMERHUB_MAIL_FROM": "service@customerhub.example",
        "CUSTOMERHUB_SMS_API_URL": sms.url,
        "CUSTOMERHUB_TWILIO_ACCOUNT_SID": s.ACCOUNT_SID,
        "CUSTOMERHUB_TWILIO_AUTH_TOKEN": s.AUTH_TOKEN,
        "CUSTOMERHUB_SMS_FROM": s.SMS_FROM,
    }


@contextlib.contextmanager
def process(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield child
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def wait_for(url: str, child: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{child.args} exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def summary(label: str, latencies: list[float], count: int, seconds: float) -> str:
    values = sorted(latencies)
    rate = count / seconds if seconds > 0 else 0.0
    p50, p99 = (1000 * percentile(values, pct) for pct in (50, 99))
    worst = 1000 * (values[-1] if values else 0.0)
    return (
        f"{label:<34} n={count:<6} {rate:8.1f} msg/s   p50 {p50:7.1f} ms"
        f"   p99 {p99:7.1f} ms   max {worst:7.1f} ms"
    )


async def until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def event_path(
    http: httpx.AsyncClient, mail: Any, customers: int, clients: int
) -> tuple[list[str], int]:
    """Customers with a contact opted into email and SMS; the welcome emails' latencies."""
    answered: dict[str, float] = {}
    ids: list[str] = []
    position = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(customers):
        queue.put_nowait(n)

    async def worker() -> None:
        nonlocal position
        while not queue.empty():
            n = queue.get_nowait()
            body = {
                "name": f"Bench {uuid.uuid4().hex[:10]}",
                "language": ["fr", "en", "de"][n % 3],
                "main_location": {"city": "Lyon"},
            }
            created = (await http.post("/v1/customers", json=body)).raise_for_status().json()
            email = f"contact{n}@bench.example"
            contact = {
                "name": f"Contact {n}",
                "email": email,
                "phone": f"+336{n:08d}",
                "main": True,
                "notify": {"email": True, "sms": True},
            }
            answer = await http.post(f"/v1/customers/{created['id']}/contacts", json=contact)
            answered[email] = time.time()
            position = max(position, answer.raise_for_status().json()["position"])
            ids.append(created["id"])

    began = time.time()
    await asyncio.gather(*(worker() for _ in range(clients)))
    await until(lambda: len(mail.received) >= customers, 120, "the welcome emails")
    arrived = {m.to: m.received_at for m in mail.received}
    latencies = [arrived[email] - at for email, at in answered.items()]
    last = max(arrived.values())
    print(summary("event path: contact -> welcome email", latencies, customers, last - began))
    print("  (throughput bounded by the command rate: 2 commands per customer)")
    return ids, position


async def request_path(
    notify: httpx.AsyncClient,
    mail: Any,
    sms: Any,
    ids: list[str],
    position: int,
    requests: int,
    clients: int,
) -> None:
    email_answered: dict[str, float] = {}
    sms_answered: dict[str, float] = {}
    emails_before = len(mail.received)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for r in range(requests):
        queue.put_nowait(r)

    async def worker() -> None:
        while not queue.empty():
            r = queue.get_nowait()
            token = f"Tech{r:06d}"
            body = {
                "customer_id": ids[r % len(ids)],
                "template": "technician_en_route",
                "params": {"technician": token, "eta": "14:30"},
            }
            response = await notify.post(
                "/v1/notifications", json=body, headers={"X-Min-Position": str(position)}
            )
            answered_at = time.time()
            answer = response.raise_for_status().json()
            for delivery in answer["deliveries"]:
                if delivery["channel"] == "email":
                    email_answered[delivery["id"]] = answered_at
            sms_answered[token] = answered_at

    began = time.time()
    await asyncio.gather(*(worker() for _ in range(clients)))
    answered = time.time()
    await until(
        lambda: len(mail.received) - emails_before >= requests and len(sms.received) >= requests,
        300,
        "the technician messages",
    )
    emails = mail.received[emails_before:]
    email_latency = []
    for message in emails:
        delivery = message.message_id.strip("<>").split("@")[0]
        if delivery in email_answered:
            email_latency.append(message.received_at - email_answered[delivery])
    sms_latency = [
        m.received_at - sms_answered[token.group(0)]
        for m in sms.received
        if (token := TOKEN.search(m.body)) and token.group(0) in sms_answered
    ]
    last_email = max(m.received_at for m in emails)
    last_sms = max(m.received_at for m in sms.received)
    print(
        f"request path: {requests} POST /v1/notifications answered in {answered - began:.2f} s"
        f" ({requests / (answered - began):.1f} req/s, 202 with delivery ids)"
    )
    print(summary("  email to SMTP (aiosmtpd)", email_latency, len(emails), last_email - began))
    print(
        summary(
            "  SMS to the Messages API stand-in", sms_latency, len(sms.received), last_sms - began
        )
    )
    duplicates = len(emails) - len({m.message_id for m in emails})
    print(f"  duplicates received: {duplicates}")


async def bench(
    args: argparse.Namespace,
    http: httpx.AsyncClient,
    notify: httpx.AsyncClient,
    mail: Any,
    sms: Any,
) -> None:
    ids, position = await event_path(http, mail, args.customers, args.clients)
    await request_path(notify, mail, sms, ids, position, args.requests, args.clients)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    s = servers_module()
    secret = "bench-" + uuid.uuid4().hex
    headers = {"Authorization": "Bearer " + mint_token(secret, sub="bench", roles=["admin"])}
    print(machine_line())
    with (
        tempfile.TemporaryDirectory(prefix="customerhub-notify-bench-") as tmp,
        s.mail_server() as mail,
        s.sms_provider() as sms,
    ):
        env = environment(Path(tmp) / "data", secret, mail, sms, s)
        hub_port, notify_port = free_port(), free_port()
        hub_log, notify_log = Path(tmp) / "hub.log", Path(tmp) / "notifications.log"
        with process(
            [sys.executable, "-m", "customerhub.cli", "run", "--port", str(hub_port)], env, hub_log
        ) as hub:
            hub_url = f"http://127.0.0.1:{hub_port}"
            wait_for(f"{hub_url}/docs", hub, hub_log)
            embedded = "/v1/notifications" in httpx.get(f"{hub_url}/openapi.json").json()["paths"]
            with contextlib.ExitStack() as stack:
                notify_url = hub_url
                if not embedded:
                    command = [
                        sys.executable,
                        "-m",
                        "notifications",
                        "run",
                        "--port",
                        str(notify_port),
                    ]
                    service = stack.enter_context(process(command, env, notify_log))
                    notify_url = f"http://127.0.0.1:{notify_port}"
                    wait_for(f"{notify_url}/health", service, notify_log)
                print(
                    f"services: customerhub run on :{hub_port}"
                    + ("" if embedded else f", notifications on :{notify_port} (own process)")
                )
                print(f"load: {args.customers} customers, {args.requests} requests,", end=" ")
                print(f"{args.clients} clients")
                limits = httpx.Limits(max_connections=args.clients)
                http = httpx.AsyncClient(
                    base_url=hub_url, headers=headers, timeout=30, limits=limits
                )
                notify = httpx.AsyncClient(
                    base_url=notify_url, headers=headers, timeout=30, limits=limits
                )

                async def run() -> None:
                    async with http, notify:
                        await bench(args, http, notify, mail, sms)

                asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
