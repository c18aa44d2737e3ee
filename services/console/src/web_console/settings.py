"""The console's own settings, read from CUSTOMERHUB_* environment variables.

Nothing is read at import: the composition root calls `load_console_settings()`.
Embedded, the console calls the API in the same process and no URL is needed; as a service
of its own it names each service's base URL.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """Each field `foo` is read from `CUSTOMERHUB_FOO`."""

    model_config = SettingsConfigDict(env_prefix="CUSTOMERHUB_", env_file=None, extra="ignore")

    # A name and a role give a token signed with the HS256 secret: for development only
    # (`make run` turns it on), never where real people sign in.
    console_dev_sign_in: bool = False

    # The distributed modes: where each service answers (embedded: unset, in-process).
    console_command_url: str | None = None
    console_query_url: str | None = None
    console_equipment_url: str | None = None
    console_notifications_url: str | None = None
    console_api_timeout_seconds: float = Field(default=30.0, gt=0)

    # OpenID Connect (authorization code with PKCE) against this issuer's discovery document.
    console_oidc_issuer: str | None = None
    console_oidc_client_id: str | None = None
    console_oidc_client_secret: SecretStr | None = None
    console_oidc_scope: str = "openid profile"
    # Where the issuer sends the browser back: this console's `/console/sign-in/callback`.
    console_oidc_redirect_url: str | None = None

    # Cookies only over HTTPS (set behind TLS; `make run` serves plain HTTP on loopback).
    console_secure_cookies: bool = False

    @property
    def distributed(self) -> bool:
        return self.console_command_url is not None

    @property
    def oidc(self) -> bool:
        return bool(self.console_oidc_issuer and self.console_oidc_client_id)


def load_console_settings(**overrides: Any) -> ConsoleSettings:
    return ConsoleSettings(**overrides)
