"""SMS through Twilio's Messages API with httpx: `POST {base}/2010-04-01/Accounts/{sid}/
Messages.json`, form fields To, From, Body, HTTP basic auth (account sid, auth token).

2xx is sent (Twilio's message sid kept); 429, 5xx, 408 and network errors are transient
(429/503 with Retry-After, honoured); any other 4xx is permanent (Twilio's error code kept).
A timeout after the request left is counted transient: Twilio may have accepted it, which is
the duplicate window the dispatcher documents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from notifications.application.ports import (
    MessageSender,
    OutgoingMessage,
    PermanentFailure,
    Sent,
    TransientFailure,
)
from notifications.domain.reachability import is_e164

_TRANSIENT_STATUSES = frozenset({408, 425, 429})


class TwilioSmsSender(MessageSender):
    channel = "sms"

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sms_from: str,
        timeout: float = 10.0,
        connections: int = 8,
    ) -> None:
        self.description = f"{base_url.rstrip('/')} (Twilio Messages API)"
        self._path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._from = sms_from
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(account_sid, auth_token),
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            headers={"Accept": "application/json"},
        )

    async def send(self, message: OutgoingMessage) -> Sent:
        if not is_e164(message.recipient):
            raise PermanentFailure("invalid_number", "the recipient is not an E.164 number")
        form = {"To": message.recipient, "From": self._from, "Body": message.message.text}
        try:
            response = await self._client.post(self._path, data=form)
        except httpx.TimeoutException as error:
            raise TransientFailure("timeout", type(error).__name__) from error
        except httpx.TransportError as error:
            raise TransientFailure("connection", type(error).__name__) from error
        if response.is_success:
            sid = _json(response).get("sid")
            return Sent(provider_message_id=sid if isinstance(sid, str) else None)
        reason, detail = _error(response)
        if response.status_code in _TRANSIENT_STATUSES or response.status_code >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            raise TransientFailure(reason, detail, retry_after=retry_after)
        raise PermanentFailure(reason, detail)

    async def close(self) -> None:
        await self._client.aclose()


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(response: httpx.Response) -> tuple[str, str | None]:
    """("http_400", "21211: The 'To' number … is not a valid phone number.")"""
    body = _json(response)
    code, text = body.get("code"), body.get("message")
    detail = ": ".join(str(part) for part in (code, text) if part is not None) or None
    return f"http_{response.status_code}", detail


def _retry_after(value: str | None) -> float | None:
    """Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
