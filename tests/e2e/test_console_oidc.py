"""Signing in to the console at an identity provider: OpenID Connect's authorization-code flow
with PKCE, against a small fake issuer (the real one is outside the project)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fastapi import FastAPI, Form, Query
from fastapi.responses import JSONResponse, RedirectResponse

from customerhub.app import create_app
from customerhub_shared.http.auth import mint_token
from customerhub_shared.settings import Settings
from tests.e2e.conftest import SECRET
from web_console.oidc import OpenIdConnect
from web_console.settings import ConsoleSettings

ISSUER = "http://issuer.test"
CALLBACK = "http://customerhub/console/sign-in/callback"


@dataclass
class FakeIssuer:
    """Discovery, an authorization endpoint that signs Claire in at once, a token endpoint
    that checks the PKCE verifier against the challenge it was given."""

    grants: dict[str, dict[str, str]] = field(default_factory=dict)

    def app(self) -> FastAPI:
        issuer = FastAPI()

        @issuer.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, str]:
            return {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
            }

        @issuer.get("/authorize")
        async def authorize(
            client_id: str,
            redirect_uri: str,
            state: str,
            nonce: str,
            code_challenge: str,
            code_challenge_method: Annotated[str, Query()],
            response_type: str,
        ) -> RedirectResponse:
            assert (response_type, code_challenge_method) == ("code", "S256")
            code = secrets.token_urlsafe(16)
            self.grants[code] = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "challenge": code_challenge,
                "nonce": nonce,
            }
            return RedirectResponse(f"{redirect_uri}?code={code}&state={state}", status_code=302)

        @issuer.post("/token")
        async def token(
            grant_type: Annotated[str, Form()],
            code: Annotated[str, Form()],
            redirect_uri: Annotated[str, Form()],
            client_id: Annotated[str, Form()],
            code_verifier: Annotated[str, Form()],
        ) -> JSONResponse:
            grant = self.grants.pop(code, None)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if (
                grant is None
                or grant_type != "authorization_code"
                or grant["challenge"] != challenge
                or (grant["client_id"], grant["redirect_uri"]) != (client_id, redirect_uri)
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            id_token = jwt.encode({"sub": "claire", "nonce": grant["nonce"]}, "k" * 32)
            access = mint_token(SECRET, sub="claire", roles=["user"])
            body = {"access_token": access, "id_token": id_token, "expires_in": 3600}
            return JSONResponse({**body, "token_type": "Bearer"})

        return issuer


@dataclass
class Browser:
    console: httpx.AsyncClient
    issuer: httpx.AsyncClient


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    console_settings = ConsoleSettings(
        console_oidc_issuer=ISSUER,
        console_oidc_client_id="customerhub-console",
        console_oidc_redirect_url=CALLBACK,
    )
    app = create_app(Settings(data_dir=tmp_path, jwt_secret=SECRET), console_settings)
    issuer_transport = httpx.ASGITransport(app=FakeIssuer().app())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=issuer_transport, base_url=ISSUER) as issuer,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://customerhub"
        ) as console,
    ):
        app.state.console.oidc = OpenIdConnect(console_settings, issuer)
        yield Browser(console=console, issuer=issuer)


async def go_to_issuer(browser: Browser) -> httpx.Response:
    leaving = await browser.console.get(
        "/console/sign-in/oidc", params={"next": "/console/customers"}
    )
    assert leaving.status_code == 303
    return leaving


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


async def test_a_person_signs_in_at_the_issuer_with_pkce_and_lands_on_the_console(
    browser: Browser,
) -> None:
    page = await browser.console.get("/console/sign-in")
    assert "Sign in with your company account" in page.text
    assert "Development sign-in" not in page.text

    leaving = await go_to_issuer(browser)
    authorize = leaving.headers["location"]
    asked = query_of(authorize)
    assert authorize.startswith(f"{ISSUER}/authorize?")
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["redirect_uri"] == CALLBACK and asked["client_id"] == "customerhub-console"
    transaction_cookie = leaving.headers["set-cookie"].lower()
    assert "httponly" in transaction_cookie and "samesite=lax" in transaction_cookie

    back = await browser.issuer.get(authorize)
    callback = back.headers["location"]
    landed = await browser.console.get(callback.removeprefix("http://customerhub"))
    assert landed.status_code == 200
    session = landed.headers.get_list("set-cookie")
    assert any("customerhub_session=" in c and "HttpOnly" in c and "strict" in c for c in session)
    assert 'http-equiv="refresh"' in landed.text

    customers = await browser.console.get("/console/customers")
    assert customers.status_code == 200
    assert "Signed in as claire (user)" in customers.text


async def test_a_callback_with_another_state_is_refused(browser: Browser) -> None:
    authorize = (await go_to_issuer(browser)).headers["location"]
    callback = (await browser.issuer.get(authorize)).headers["location"]
    code = query_of(callback)["code"]
    forged = await browser.console.get(
        "/console/sign-in/callback", params={"code": code, "state": "someone-else-s"}
    )
    assert forged.status_code == 400
    assert "customerhub_session" not in forged.headers.get("set-cookie", "")
    assert (await browser.console.get("/console/customers")).status_code == 303


async def test_a_code_exchanged_without_its_verifier_signs_nobody_in(browser: Browser) -> None:
    leaving = await go_to_issuer(browser)
    callback = (await browser.issuer.get(leaving.headers["location"])).headers["location"]
    kept = browser.console.cookies.get("customerhub_oidc")
    assert kept is not None
    transaction: dict[str, Any] = json.loads(base64.urlsafe_b64decode(kept))
    transaction["verifier"] = secrets.token_urlsafe(48)  # an interceptor holds the code only
    tampered = base64.urlsafe_b64encode(json.dumps(transaction).encode()).decode()
    browser.console.cookies.set("customerhub_oidc", tampered, path="/console/sign-in")
    refused = await browser.console.get(callback.removeprefix("http://customerhub"))
    assert refused.status_code == 400
    assert "invalid_grant" in refused.text
    assert "customerhub_session" not in refused.headers.get("set-cookie", "")
