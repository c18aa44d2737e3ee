"""Notifications end to end: customers written with the command API, messages received by a
real SMTP server (aiosmtpd) and by the SMS provider stand-in, the delivery log read over HTTP.

The app is composed here the way the embedded one composes services (customer-command,
customer-query and notifications over one Infrastructure and one read store), so these tests
need no change to the embedded app. Equipment assignment is driven by appending the
customer's EquipmentAssigned event through customer-command's repository
(`customer.assign_equipment`) until `POST /v1/customers/{id}/equipment` lands.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

import customer_command.bootstrap as customer_command
import customer_query.bootstrap as customer_query
import notifications.bootstrap as notifications
from customer_command.application.context import CommandContext
from customer_command.entrypoints.http.runner import CommandService
from customerhub_shared.consumers import Consumers, running
from customerhub_shared.events.equipment import EquipmentRegistered
from customerhub_shared.http.service import prepare_service_app, serve_infrastructure
from customerhub_shared.infrastructure import open_read_store
from customerhub_shared.settings import Settings
from notifications.settings import NotificationSettings
from tests.e2e.conftest import ADMIN, SECRET, USER
from tests.integration.notifications.servers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SMS_FROM,
    MailServer,
    Scripted,
    SmsProvider,
    mail_server,
    sms_provider,
)

PROBLEM = "application/problem+json"


def create_app(settings: Settings, notification_settings: NotificationSettings) -> FastAPI:
    """customer-command + customer-query + notifications, as the embedded app will be."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with serve_infrastructure(app, settings) as infra:
            read_store = await open_read_store(settings)
            try:
                services = [
                    customer_command.attach(app, infra, settings),
                    customer_query.attach(app, infra, read_store, settings),
                    notifications.attach(app, infra, read_store, settings, notification_settings),
                ]
                async with running(Consumers(parked=None), *services):
                    yield
            finally:
                await read_store.close()

    app = FastAPI(title="customerhub (notifications e2e)", lifespan=lifespan)
    prepare_service_app(app, settings)
    for router in [
        *customer_command.routers(),
        *customer_query.routers(),
        *notifications.routers(),
    ]:
        app.include_router(router)
    return app


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with mail_server() as server:
        yield server


@pytest.fixture
def sms() -> Iterator[SmsProvider]:
    with sms_provider() as provider:
        yield provider


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, jwt_secret=SECRET, log_level="WARNING", freshness_timeout_seconds=10
    )


@pytest.fixture
def notification_settings(
    tmp_path: Path, mail: MailServer, sms: SmsProvider
) -> NotificationSettings:
    return NotificationSettings(
        data_dir=tmp_path,
        smtp_host=mail.host,
        smtp_port=mail.port,
        smtp_security="none",
        mail_from="Service Martin <service@customerhub.example>",
        sms_api_url=sms.url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        sms_from=SMS_FROM,
        notification_retry_base_seconds=0.05,
        notification_retry_max_seconds=0.2,
    )


@pytest.fixture
async def app(
    settings: Settings, notification_settings: NotificationSettings
) -> AsyncIterator[FastAPI]:
    application = create_app(settings, notification_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://customerhub") as http:
        yield http


class Office:
    """The office staff's client: commands, then notifications that read their own writes."""

    def __init__(self, http: httpx.AsyncClient, app: FastAPI) -> None:
        self.http = http
        self.app = app
        self.position = 0

    async def command(self, method: str, url: str, body: Any = None) -> dict[str, Any]:
        response = await self.http.request(method, url, json=body, headers=ADMIN)
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        self.position = max(self.position, answer["position"])
        return answer

    async def customer(self, name: str, language: str) -> str:
        body = {"name": name, "language": language, "main_location": {"city": "Paris"}}
        return str((await self.command("POST", "/v1/customers", body))["id"])

    async def contact(self, customer_id: str, name: str, **fields: Any) -> str:
        answer = await self.command(
            "POST", f"/v1/customers/{customer_id}/contacts", {"name": name, **fields}
        )
        return str(answer["contact_id"])

    async def assign_equipment(self, customer_id: str, name: str, **details: str) -> None:
        """Stand-in for POST /v1/customers/{id}/equipment: the item's registration, then the
        customer's EquipmentAssigned, through customer-command's repository."""
        service: CommandService = self.app.state.customer_command
        repository = service.ports.customers
        ctx = CommandContext(actor="alice", correlation_id=f"assign-{uuid.uuid4()}")
        equipment_id = uuid.uuid4()
        await repository.writer.append(
            f"equipment-{equipment_id}",
            [EquipmentRegistered(equipment_id=equipment_id, name=name, **details)],
            ctx,
            expected_version=0,
        )
        loaded = await repository.get(uuid.UUID(customer_id))
        loaded.customer.assign_equipment(equipment_id)
        result = await repository.save(loaded.customer, ctx)
        assert result is not None
        self.position = max(self.position, result.position)

    async def notify(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        headers = {**USER, "X-Min-Position": str(self.position), **headers}
        return await self.http.post("/v1/notifications", json=body, headers=headers)

    async def log(self, customer_id: str) -> list[dict[str, Any]]:
        response = await self.http.get(
            "/v1/notifications", params={"customer_id": customer_id}, headers=USER
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


@pytest.fixture
def office(client: httpx.AsyncClient, app: FastAPI) -> Office:
    return Office(client, app)


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def settled(office: Office, customer_id: str, count: int) -> list[dict[str, Any]]:
    """The customer's log once it has `count` entries and none is pending any more."""
    for _ in range(1000):  # up to 20 s on a busy machine
        log = await office.log(customer_id)
        if len(log) >= count and all(entry["status"] != "pending" for entry in log):
            return log
        await asyncio.sleep(0.02)
    raise AssertionError(f"the log never settled: {log}")


CLAIRE = {"email": "claire@martin.example", "phone": "+33611111111"}
MARC = {"email": "marc@martin.example", "phone": "+33622222222"}
LEA = {"email": "lea@martin.example", "phone": "+33633333333"}
HUGO = {"email": "hugo@martin.example", "phone": "+33644444444"}


async def test_opted_in_contacts_get_welcome_equipment_and_en_route_in_their_language(
    office: Office, mail: MailServer, sms: SmsProvider
) -> None:
    martin = await office.customer("Boulangerie Martin", "fr")
    claire = await office.contact(
        martin, "Claire Martin", main=True, notify={"email": True}, **CLAIRE
    )
    marc = await office.contact(
        martin, "Marc Petit", notify={"email": True, "sms": True}, equipment_alerts=True, **MARC
    )
    # On the alert list but opted into nothing: never told anything.
    await office.contact(martin, "Léa Roux", equipment_alerts=True, **LEA)
    # SMS only, not on the alert list: only the technician's message.
    hugo = await office.contact(martin, "Hugo Blanc", notify={"sms": True}, **HUGO)
    await office.assign_equipment(
        martin, "Four à sole", brand="Bongard", model="Orion", serial_number="SN-4471"
    )
    berlin = await office.customer("Bäckerei Schulz", "de")
    await office.contact(berlin, "Jonas Schulz", notify={"sms": True}, phone="+4915112345678")
    madrid = await office.customer("Panadería López", "es")  # no Spanish templates: English
    await office.contact(madrid, "Ana López", notify={"email": True}, email="ana@lopez.example")

    en_route = {
        "template": "technician_en_route",
        "params": {"technician": "Marc Dubois", "eta": "14:30"},
    }
    accepted = await office.notify({"customer_id": martin, **en_route})
    assert accepted.status_code == 202, accepted.text
    answer = accepted.json()
    reached = {(d["contact_id"], d["channel"]) for d in answer["deliveries"]}
    assert reached == {(claire, "email"), (marc, "email"), (marc, "sms"), (hugo, "sms")}
    assert answer["delivery_ids"] == [d["id"] for d in answer["deliveries"]]
    assert (await office.notify({"customer_id": berlin, **en_route})).status_code == 202

    # Emails: Claire's welcome and en route, Marc's equipment and en route, Ana's welcome.
    # SMS: Marc's equipment and en route, Hugo's and Jonas's en route.
    await until(lambda: len(mail.received) == 5 and len(sms.received) == 4)
    await asyncio.sleep(0.3)  # and nothing more arrives
    assert (len(mail.received), len(sms.received)) == (5, 4)

    assert sorted((m.to, m.subject) for m in mail.received) == [
        ("ana@lopez.example", "Welcome, Ana López"),
        ("claire@martin.example", "Bienvenue, Claire Martin"),
        ("claire@martin.example", "Votre technicien est en route"),
        (
            "marc@martin.example",
            "Nouvel équipement pour Boulangerie Martin : Four à sole (Bongard Orion)",
        ),
        ("marc@martin.example", "Votre technicien est en route"),
    ]
    [equipment_mail] = [m for m in mail.to("marc@martin.example") if "Four" in m.subject]
    assert "Numéro de série : SN-4471" in equipment_mail.text
    assert "<strong>Four à sole (Bongard Orion)</strong>" in equipment_mail.html
    [en_route_mail] = [m for m in mail.to("claire@martin.example") if "route" in m.subject]
    assert "Marc Dubois est en route vers Boulangerie Martin et devrait arriver vers 14:30." in (
        en_route_mail.text
    )

    assert sorted(m.body for m in sms.to(MARC["phone"])) == [
        "Boulangerie Martin : l'équipement Four à sole (Bongard Orion) vous a été attribué.",
        "Marc Dubois est en route et devrait arriver vers 14:30.",
    ]
    assert [m.body for m in sms.to(HUGO["phone"])] == [
        "Marc Dubois est en route et devrait arriver vers 14:30."
    ]
    assert [m.body for m in sms.to("+4915112345678")] == [
        "Marc Dubois ist unterwegs und trifft voraussichtlich gegen 14:30 ein."
    ]
    assert mail.to(LEA["email"]) == [] and sms.to(LEA["phone"]) == []
    assert sms.to(CLAIRE["phone"]) == []  # Claire opted into email only

    log = await settled(office, martin, 7)
    assert [(e["template"], e["status"]) for e in log] == [
        *[("technician_en_route", "sent")] * 4,
        *[("equipment_assigned", "sent")] * 2,
        ("welcome", "sent"),
    ]
    assert LEA["email"] not in {e["recipient"] for e in log}
    newest_first = [e["created_at"] for e in log]
    assert newest_first == sorted(newest_first, reverse=True)
    welcome = next(e for e in log if e["template"] == "welcome")
    assert welcome["event_type"] == "customerhub.customer.main_contact_chosen.v1"
    assert (welcome["recipient"], welcome["language"], welcome["attempts"]) == (
        "claire@martin.example",
        "fr",
        1,
    )
    requested = [e for e in log if e["template"] == "technician_en_route"]
    assert {e["event_type"] for e in requested} == {"request"}
    assert {e["event_id"] for e in requested} == {answer["request_id"]}

    async def sent_per_channel() -> dict[str, float]:
        text = (await office.http.get("/metrics")).text
        return {
            s.labels["channel"]: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "customerhub_notification_deliveries_total"
            and s.labels["status"] == "sent"
        }

    for _ in range(100):
        if await sent_per_channel() == {"email": 5, "sms": 4}:
            break
        await asyncio.sleep(0.1)
    assert await sent_per_channel() == {"email": 5, "sms": 4}


async def test_an_sms_provider_503_twice_then_201_is_retried_then_sent_and_a_400_fails_at_once(
    office: Office, sms: SmsProvider
) -> None:
    customer = await office.customer("Garage Martinez", "fr")
    marc = await office.contact(customer, "Marc Petit", notify={"sms": True}, phone=MARC["phone"])
    paul = await office.contact(customer, "Paul Vidal", notify={"sms": True}, phone="+33655555555")
    sms.script(MARC["phone"], Scripted(503), Scripted(503, headers={"Retry-After": "0"}))
    sms.script("+33655555555", Scripted(400, code=21211))
    en_route = {"technician": "Marc Dubois", "eta": "16:00"}
    body = {"customer_id": customer, "template": "technician_en_route", "params": en_route}
    assert (await office.notify(body)).status_code == 202

    log = {entry["contact_id"]: entry for entry in await settled(office, customer, 2)}
    retried, refused = log[marc], log[paul]
    assert (retried["status"], retried["attempts"], retried["reason"]) == ("sent", 3, None)
    assert retried["provider_message_id"] == sms.to(MARC["phone"])[0].sid
    assert (refused["status"], refused["attempts"], refused["reason"]) == ("failed", 1, "http_400")
    assert refused["error"].startswith("21211")
    assert sms.requests.count(MARC["phone"]) == 3 and sms.requests.count("+33655555555") == 1
    assert len(sms.to(MARC["phone"])) == 1 and sms.to("+33655555555") == []

    metrics = (await office.http.get("/v1/notifications/metrics", headers=USER)).json()
    assert metrics["channels"]["sms"] == {
        "sent": 1,
        "failed": 1,
        "retried": 2,
        "skipped": 0,
        "in_doubt": 0,
    }


async def test_requests_are_checked_before_anything_is_recorded(
    office: Office, mail: MailServer, sms: SmsProvider
) -> None:
    customer = await office.customer("Boulangerie Martin", "fr")
    await office.contact(customer, "Claire Martin", notify={"sms": True}, phone=CLAIRE["phone"])
    base = {"customer_id": customer, "template": "technician_en_route"}

    missing = await office.notify({**base, "params": {"technician": "Marc"}})
    assert missing.status_code == 422 and missing.headers["content-type"].startswith(PROBLEM)
    assert missing.json()["missing"] == ["eta"]
    typo = await office.notify({**base, "params": {"technician": "M", "eta": "9:00", "etaa": "x"}})
    assert (typo.status_code, typo.json()["unexpected"]) == (422, ["etaa"])
    unknown = await office.notify({**base, "template": "birthday", "params": {}})
    assert unknown.status_code == 422
    assert unknown.json()["templates"] == ["equipment_assigned", "technician_en_route", "welcome"]
    stranger = str(uuid.uuid4())
    params = {"technician": "M", "eta": "9:00"}
    contacts = await office.notify({**base, "params": params, "contact_ids": [stranger]})
    assert (contacts.status_code, contacts.json()["contact_ids"]) == (422, [stranger])
    nobody = await office.notify({**base, "customer_id": str(uuid.uuid4()), "params": params})
    assert nobody.status_code == 404

    await asyncio.sleep(0.2)
    assert await office.log(customer) == [] and sms.received == [] and mail.received == []


async def test_bad_phones_and_emails_are_refused_by_the_command_side_not_failed_later(
    office: Office, sms: SmsProvider
) -> None:
    customer = await office.customer("Boulangerie Martin", "fr")
    url = f"/v1/customers/{customer}/contacts"
    for contact in (
        {"name": "A", "phone": "06 12", "notify": {"sms": True}},
        {"name": "B", "email": "not-an-email", "notify": {"email": True}},
        {"name": "C", "notify": {"sms": True}},  # opted in, nowhere to send
    ):
        refused = await office.http.post(url, json=contact, headers=ADMIN)
        assert refused.status_code == 422, refused.text
    # A national number is stored in E.164 (which is what the SMS provider gets).
    stored = await office.contact(
        customer, "Claire", phone="+33 6 11 11 11 11", notify={"sms": True}
    )
    # A landline passes the command side; the SMS is skipped with its reason, never sent.
    landline = await office.contact(
        customer, "Accueil", phone="+33 1 40 00 00 00", notify={"sms": True}
    )
    params = {"technician": "Marc", "eta": "9:00"}
    accepted = await office.notify(
        {"customer_id": customer, "template": "technician_en_route", "params": params}
    )
    statuses = {d["contact_id"]: (d["status"], d["reason"]) for d in accepted.json()["deliveries"]}
    assert statuses[landline] == ("skipped", "not_a_mobile_number")
    await until(lambda: len(sms.received) == 1)
    assert sms.received[0].to == "+33611111111" and statuses[stored][0] in ("pending", "sent")


async def test_anonymising_a_customer_strips_recipients_and_bodies_from_its_log(
    office: Office, mail: MailServer
) -> None:
    customer = await office.customer("Boulangerie Martin", "fr")
    await office.contact(customer, "Claire Martin", notify={"email": True}, email=CLAIRE["email"])
    [sent] = await settled(office, customer, 1)
    assert (sent["recipient"], sent["subject"]) == (CLAIRE["email"], "Bienvenue, Claire Martin")
    assert sent["body"].startswith("Bonjour Claire Martin,")

    await office.command("POST", f"/v1/customers/{customer}/anonymise")
    for _ in range(500):
        [entry] = await office.log(customer)
        if entry["erased"]:
            break
        await asyncio.sleep(0.02)
    assert (entry["recipient"], entry["subject"], entry["body"], entry["error"]) == (None,) * 4
    assert (entry["status"], entry["template"], entry["attempts"]) == ("sent", "welcome", 1)
    refused = await office.notify(
        {
            "customer_id": customer,
            "template": "technician_en_route",
            "params": {"technician": "M", "eta": "9:00"},
        }
    )
    assert (refused.status_code, refused.json()["customer_status"]) == (409, "anonymised")
    assert len(mail.received) == 1


async def test_a_retried_request_with_the_same_idempotency_key_sends_nothing_again(
    office: Office, sms: SmsProvider
) -> None:
    customer = await office.customer("Boulangerie Martin", "fr")
    await office.contact(customer, "Claire", notify={"sms": True}, phone=CLAIRE["phone"])
    body = {
        "customer_id": customer,
        "template": "technician_en_route",
        "params": {"technician": "Marc", "eta": "9:00"},
    }
    first = await office.notify(body, **{"Idempotency-Key": "visit-4471-en-route"})
    again = await office.notify(body, **{"Idempotency-Key": "visit-4471-en-route"})
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["delivery_ids"] == first.json()["delivery_ids"]
    other = await office.notify(
        {**body, "params": {"technician": "Paul", "eta": "9:00"}},
        **{"Idempotency-Key": "visit-4471-en-route"},
    )
    assert other.status_code == 422
    await until(lambda: len(sms.received) == 1)
    await asyncio.sleep(0.2)
    assert len(sms.received) == 1


async def test_with_no_smtp_host_or_sms_url_messages_go_to_outbox_files_and_the_log_says_so(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(settings, NotificationSettings(data_dir=tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            office = Office(http, app)
            customer = await office.customer("Boulangerie Martin", "fr")
            await office.contact(customer, "Claire", notify={"email": True, "sms": True}, **CLAIRE)
            params = {"technician": "Marc", "eta": "9:00"}
            await office.notify(
                {"customer_id": customer, "template": "technician_en_route", "params": params}
            )
            await settled(office, customer, 3)
    emails = sorted((tmp_path / "outbox" / "email").glob("*.eml"))
    texts = sorted((tmp_path / "outbox" / "sms").glob("*.json"))
    assert (len(emails), len(texts)) == (2, 1)
    assert "Marc est en route" in texts[0].read_text()
    logged = capsys.readouterr().out
    assert logged.count("notifications.outbox_only") == 2
    assert str(tmp_path / "outbox" / "email") in logged
