"""The SMS adapter against the Messages API stand-in (servers.SmsProvider): what it posts, and
how answers map to sent, transient (5xx, 429 + Retry-After, timeouts) and permanent (4xx)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from notifications.adapters.twilio import TwilioSmsSender
from notifications.application.ports import OutgoingMessage, PermanentFailure, TransientFailure
from notifications.domain.deliveries import Message
from tests.integration.notifications.servers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SMS_FROM,
    Scripted,
    SmsProvider,
    sms_provider,
)

MARC = "+33612345678"


@pytest.fixture
def provider() -> Iterator[SmsProvider]:
    with sms_provider() as stand_in:
        yield stand_in


def sender(
    provider: SmsProvider, *, token: str = AUTH_TOKEN, timeout: float = 5.0
) -> TwilioSmsSender:
    return TwilioSmsSender(
        base_url=provider.url,
        account_sid=ACCOUNT_SID,
        auth_token=token,
        sms_from=SMS_FROM,
        timeout=timeout,
    )


def sms(
    to: str = MARC, text: str = "Marc est en route et devrait arriver vers 14:30."
) -> OutgoingMessage:
    return OutgoingMessage(uuid.uuid4(), "sms", to, Message(text=text))


async def test_a_message_is_posted_as_the_messages_api_wants_it(provider: SmsProvider) -> None:
    twilio = sender(provider)
    try:
        sent = await twilio.send(sms())
    finally:
        await twilio.close()
    [received] = provider.received
    assert (received.to, received.sender) == (MARC, SMS_FROM)
    assert received.body == "Marc est en route et devrait arriver vers 14:30."
    assert sent.provider_message_id == received.sid and received.sid.startswith("SM")


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_transient(provider: SmsProvider, status: int) -> None:
    provider.script(MARC, Scripted(status))
    twilio = sender(provider)
    try:
        with pytest.raises(TransientFailure) as failure:
            await twilio.send(sms())
    finally:
        await twilio.close()
    assert failure.value.reason == f"http_{status}"
    assert provider.received == []


async def test_too_many_requests_carries_the_providers_retry_after(provider: SmsProvider) -> None:
    provider.script(MARC, Scripted(429, headers={"Retry-After": "7"}))
    twilio = sender(provider)
    try:
        with pytest.raises(TransientFailure) as failure:
            await twilio.send(sms())
    finally:
        await twilio.close()
    assert (failure.value.reason, failure.value.retry_after) == ("http_429", 7.0)
    assert failure.value.detail == "20429: scripted 429"


async def test_an_invalid_number_is_a_permanent_failure_with_twilios_code(
    provider: SmsProvider,
) -> None:
    provider.script(MARC, Scripted(400, code=21211))
    twilio = sender(provider)
    try:
        with pytest.raises(PermanentFailure) as failure:
            await twilio.send(sms())
    finally:
        await twilio.close()
    assert failure.value.reason == "http_400"
    assert failure.value.detail is not None and failure.value.detail.startswith("21211")


async def test_wrong_credentials_are_a_permanent_failure(provider: SmsProvider) -> None:
    twilio = sender(provider, token="wrong")
    try:
        with pytest.raises(PermanentFailure) as failure:
            await twilio.send(sms())
    finally:
        await twilio.close()
    assert failure.value.reason == "http_401"


async def test_a_number_not_in_e164_is_refused_before_any_request(provider: SmsProvider) -> None:
    twilio = sender(provider)
    try:
        with pytest.raises(PermanentFailure) as failure:
            await twilio.send(sms("06 12 34 56 78"))
    finally:
        await twilio.close()
    assert failure.value.reason == "invalid_number"
    assert provider.requests == []


async def test_a_provider_too_slow_to_answer_is_a_transient_timeout(provider: SmsProvider) -> None:
    provider.script(MARC, Scripted(201, delay=0.5))
    twilio = sender(provider, timeout=0.1)
    try:
        with pytest.raises(TransientFailure) as failure:
            await twilio.send(sms())
    finally:
        await twilio.close()
    assert failure.value.reason == "timeout"
