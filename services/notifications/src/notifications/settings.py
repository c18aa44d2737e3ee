"""The notification service's own settings, read from CUSTOMERHUB_* environment variables.

Nothing is read at import: the composition root calls `load_notification_settings()`.
With neither `CUSTOMERHUB_SMTP_HOST` nor `CUSTOMERHUB_SMS_API_URL` set (the embedded default),
messages are written as files under the data directory's `outbox/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SmtpSecurity = Literal["starttls", "tls", "opportunistic", "none"]


class NotificationSettings(BaseSettings):
    """Each field `foo` is read from `CUSTOMERHUB_FOO`."""

    model_config = SettingsConfigDict(env_prefix="CUSTOMERHUB_", env_file=None, extra="ignore")

    # Shared with every service (the shared Settings reads it too): where `outbox/` lives.
    data_dir: Path = Path("./var")

    # Email over SMTP. `starttls` requires the upgrade, `tls` is implicit TLS (port 465),
    # `opportunistic` upgrades when the server offers it, `none` never does (tests, relays).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # A CA bundle for a server whose certificate a private CA signed.
    smtp_ca_file: Path | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "customerhub <no-reply@customerhub.localhost>"

    # SMS over Twilio's Messages API (or anything that speaks it).
    sms_api_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    sms_from: str | None = None
    sms_timeout_seconds: float = Field(default=10.0, gt=0)

    # Delivery: attempts per message, backoff between them, and how much is sent at once.
    notification_max_attempts: int = Field(default=5, ge=1, le=50)
    notification_retry_base_seconds: float = Field(default=2.0, gt=0)
    notification_retry_max_seconds: float = Field(default=600.0, gt=0)
    # Per channel: messages in flight at once (SMTP connections, HTTP requests).
    notification_concurrency: int = Field(default=8, ge=1, le=256)
    # Per channel: deliveries taken per dispatch round; also the most that a crash can leave
    # in doubt (sent, outcome not recorded), i.e. the bound on duplicates after a crash.
    notification_dispatch_batch: int = Field(default=16, ge=1, le=1000)
    # Events recorded longer ago than this notify nobody when first seen (a service deployed
    # on an existing log, or a lost delivery log, must not welcome every customer ever).
    notification_max_event_age_seconds: float = Field(default=86_400.0, gt=0)

    @model_validator(mode="after")
    def _sms_provider_complete(self) -> NotificationSettings:
        if self.sms_api_url:
            missing = [
                name
                for name, value in (
                    ("CUSTOMERHUB_TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                    ("CUSTOMERHUB_TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                    ("CUSTOMERHUB_SMS_FROM", self.sms_from),
                )
                if not value
            ]
            if missing:
                raise ValueError("CUSTOMERHUB_SMS_API_URL is set, so set " + ", ".join(missing))
        return self

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


def load_notification_settings(**overrides: Any) -> NotificationSettings:
    """Settings from the environment; keyword arguments (field names) take precedence."""
    return NotificationSettings(**overrides)
