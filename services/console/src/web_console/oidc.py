"""Signing in at the identity provider: OpenID Connect's authorization-code flow with PKCE,
the endpoints read from the issuer's discovery document. The access token it gives is what
the console then sends to the API, which verifies it against the issuer's keys."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from web_console.settings import ConsoleSettings


class SignInFailed(Exception):
    """The identity provider did not sign the person in (the message says why)."""


@dataclass(frozen=True)
class Transaction:
    """What the browser keeps between leaving for the issuer and coming back."""

    state: str
    nonce: str
    verifier: str
    next: str

    @classmethod
    def begin(cls, next: str) -> Transaction:
        return cls(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next=next,
        )

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def cookie(self) -> str:
        return base64.urlsafe_b64encode(json.dumps(asdict(self)).encode()).decode()

    @classmethod
    def from_cookie(cls, value: str | None) -> Transaction | None:
        try:
            fields = json.loads(base64.urlsafe_b64decode((value or "").encode()))
            return cls(
                **{name: str(fields[name]) for name in ("state", "nonce", "verifier", "next")}
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_in: int


class OpenIdConnect:
    def __init__(self, settings: ConsoleSettings, http: httpx.AsyncClient) -> None:
        if not settings.oidc:
            raise ValueError("CUSTOMERHUB_CONSOLE_OIDC_ISSUER and _CLIENT_ID are both needed")
        self._settings = settings
        self._http = http
        self._issuer = str(settings.console_oidc_issuer).rstrip("/")

    async def _discovery(self) -> dict[str, Any]:
        url = f"{self._issuer}/.well-known/openid-configuration"
        try:
            answer = await self._http.get(url)
            answer.raise_for_status()
            document: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInFailed(f"no discovery document at {url}") from error
        if str(document.get("issuer", "")).rstrip("/") != self._issuer:
            raise SignInFailed("the discovery document names another issuer")
        return document

    async def authorization_url(self, transaction: Transaction) -> str:
        endpoint = (await self._discovery())["authorization_endpoint"]
        query = {
            "response_type": "code",
            "client_id": self._settings.console_oidc_client_id,
            "redirect_uri": self._settings.console_oidc_redirect_url,
            "scope": self._settings.console_oidc_scope,
            "state": transaction.state,
            "nonce": transaction.nonce,
            "code_challenge": transaction.challenge,
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    async def exchange(self, code: str, transaction: Transaction) -> Tokens:
        endpoint = (await self._discovery())["token_endpoint"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": str(self._settings.console_oidc_redirect_url),
            "client_id": str(self._settings.console_oidc_client_id),
            "code_verifier": transaction.verifier,
        }
        secret = self._settings.console_oidc_client_secret
        if secret is not None:
            form["client_secret"] = secret.get_secret_value()
        try:
            answer = await self._http.post(endpoint, data=form)
            body: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInFailed("the token endpoint did not answer") from error
        if answer.status_code != 200 or "access_token" not in body:
            raise SignInFailed(str(body.get("error_description") or body.get("error") or answer))
        self._check_nonce(body.get("id_token"), transaction.nonce)
        return Tokens(str(body["access_token"]), int(body.get("expires_in", 3600)))

    @staticmethod
    def _check_nonce(id_token: Any, nonce: str) -> None:
        """The ID token answers this sign-in, not a replayed one (the API verifies the access
        token's signature; the nonce only ties the answer to the request)."""
        if not isinstance(id_token, str):
            return
        try:
            claims = jwt.decode(id_token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise SignInFailed("the ID token is unreadable") from error
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("the ID token answers another sign-in")
