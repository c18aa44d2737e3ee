"""Tokens from an identity provider whose JWKS a real local HTTP server publishes: removed keys,
algorithm/key-type mismatches, storms of unknown kids, rotation, and the key server's outages."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from customerhub_shared.http.auth import CurrentUser, TokenVerifier
from customerhub_shared.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from customerhub_shared.settings import Settings

ISSUER = "http://127.0.0.1/realms/customerhub"
AUDIENCE = "customerhub"
# Short lifetimes so the tests see expiry and cooldowns happen.
CACHE_SECONDS = 2.0
COOLDOWN_SECONDS = 0.6
FETCH_TIMEOUT_SECONDS = 1.0


class SigningKey:
    def __init__(self, kid: str, algorithm: str) -> None:
        self.kid, self.algorithm = kid, algorithm
        if algorithm == "RS256":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            public = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {**public, "kid": kid, "use": "sig", "alg": algorithm}


class IdentityProvider:
    """Signs tokens and publishes its keys over HTTP; it can also hang or fail on purpose."""

    def __init__(self) -> None:
        self.published: list[SigningKey] = []
        self.mode = "serve"  # or "hang" (answers nothing for a long while), or "fail" (503)
        self.fetches = 0
        self.release = threading.Event()
        self.url = ""
        self.server: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        """The key server goes away: its port refuses connections."""
        assert self.server is not None
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def publish(self, *keys: SigningKey) -> None:
        self.published = list(keys)

    def jwks(self) -> bytes:
        return json.dumps({"keys": [key.jwk for key in self.published]}).encode()

    def token(
        self,
        key: SigningKey,
        *,
        kid: str | None = None,
        algorithm: str | None = None,
        **claims: Any,
    ) -> dict[str, str]:
        payload = {
            "sub": "alice",
            "realm_access": {"roles": ["user"]},
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 300,
            **claims,
        }
        token = jwt.encode(
            payload,
            key.private,
            algorithm=algorithm or key.algorithm,
            headers={"kid": kid or key.kid},
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {
        "rsa-1": SigningKey("rsa-1", "RS256"),
        "rsa-2": SigningKey("rsa-2", "RS256"),
        "ec-1": SigningKey("ec-1", "ES256"),
    }


@pytest.fixture
def idp(keys: dict[str, SigningKey]) -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.publish(keys["rsa-1"], keys["ec-1"])

    class JWKSHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            provider.fetches += 1
            if provider.mode == "hang":
                provider.release.wait(30)
                return
            if provider.mode == "fail":
                self.send_error(503)
                return
            body = provider.jwks()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = provider.server = ThreadingHTTPServer(("127.0.0.1", 0), JWKSHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/realms/customerhub/certs"
    yield provider
    provider.stop()
    thread.join()


def service_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.token_verifier = verifier

    @app.get("/v1/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {"sub": user.sub, "roles": sorted(user.roles)}

    return app


@asynccontextmanager
async def client_trusting(
    idp: IdentityProvider, *, cooldown_seconds: float = COOLDOWN_SECONDS
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        jwks_url=idp.url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwt_roles_claim="realm_access.roles",
        jwks_cache_seconds=CACHE_SECONDS,
        jwks_refresh_cooldown_seconds=cooldown_seconds,
        jwks_fetch_timeout_seconds=FETCH_TIMEOUT_SECONDS,
    )
    verifier = TokenVerifier.from_settings(settings)
    transport = httpx.ASGITransport(app=service_app(verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    await verifier.close()


@pytest.fixture
async def client(idp: IdentityProvider) -> AsyncIterator[httpx.AsyncClient]:
    async with client_trusting(idp) as http:
        yield http


async def status_of(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await client.get("/v1/me", headers=headers)).status_code


async def test_roles_are_read_from_the_configured_claim(
    idp: IdentityProvider, keys: dict[str, SigningKey], client: httpx.AsyncClient
) -> None:
    token = idp.token(keys["ec-1"], realm_access={"roles": ["admin", "offline_access"]})
    response = await client.get("/v1/me", headers=token)
    assert response.status_code == 200, response.text
    assert response.json() == {"sub": "alice", "roles": ["admin", "offline_access"]}
    misshapen = idp.token(keys["rsa-1"], realm_access={"roles": "admin"})
    assert await status_of(client, misshapen) == 401


async def test_a_key_removed_from_the_set_stops_verifying_within_the_cache_lifetime(
    idp: IdentityProvider, keys: dict[str, SigningKey], client: httpx.AsyncClient
) -> None:
    old, new = idp.token(keys["rsa-1"]), idp.token(keys["rsa-2"])
    assert await status_of(client, old) == 200
    removed_at = time.monotonic()
    idp.publish(keys["rsa-2"], keys["ec-1"])
    while await status_of(client, old) == 200:
        assert time.monotonic() - removed_at < CACHE_SECONDS + FETCH_TIMEOUT_SECONDS, (
            "the removed key still verifies past the key set's lifetime"
        )
        await asyncio.sleep(0.05)
    assert await status_of(client, new) == 200


async def test_a_removed_key_stops_verifying_in_time_even_with_a_cooldown_longer_than_that(
    idp: IdentityProvider, keys: dict[str, SigningKey]
) -> None:
    old = idp.token(keys["rsa-1"])
    async with client_trusting(idp, cooldown_seconds=CACHE_SECONDS * 10) as client:
        assert await status_of(client, old) == 200
        removed_at = time.monotonic()
        idp.publish(keys["rsa-2"])
        while await status_of(client, old) == 200:
            assert time.monotonic() - removed_at < CACHE_SECONDS + FETCH_TIMEOUT_SECONDS
            await asyncio.sleep(0.05)
        assert await status_of(client, idp.token(keys["rsa-2"])) == 200


@pytest.mark.parametrize(
    ("signer", "kid", "algorithm"),
    [("ec-1", "rsa-1", "ES256"), ("rsa-1", "ec-1", "RS256"), ("rsa-1", "rsa-1", "ES256")],
)
async def test_an_algorithm_the_named_key_cannot_verify_answers_401_without_tracebacks(
    idp: IdentityProvider,
    keys: dict[str, SigningKey],
    client: httpx.AsyncClient,
    signer: str,
    kid: str,
    algorithm: str,
) -> None:
    if keys[signer].algorithm == algorithm:
        token = idp.token(keys[signer], kid=kid)
    else:  # an ES256 header over an RSA signature cannot be made by PyJWT: forge the header
        token = _with_header(idp.token(keys[signer], kid=kid), alg=algorithm)
    with structlog.testing.capture_logs() as logs:
        response = await client.get("/v1/me", headers=token)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert not [entry for entry in logs if entry["log_level"] in ("error", "critical")]
    assert not [entry for entry in logs if "exc_info" in entry or "exception" in entry]


async def test_a_storm_of_unknown_kids_on_a_hanging_key_server_never_slows_valid_tokens(
    idp: IdentityProvider, keys: dict[str, SigningKey], client: httpx.AsyncClient
) -> None:
    valid = idp.token(keys["rsa-1"])
    assert await status_of(client, valid) == 200
    await asyncio.sleep(COOLDOWN_SECONDS)  # a fetch is allowed again: the storm may start one
    idp.mode, fetches_before = "hang", idp.fetches

    async def timed(headers: dict[str, str]) -> tuple[int, float]:
        started = time.monotonic()
        status = await status_of(client, headers)
        return status, time.monotonic() - started

    storm_started = time.monotonic()
    storm = [
        asyncio.create_task(timed(idp.token(keys["rsa-1"], kid=f"random-{uuid.uuid4()}")))
        for _ in range(100)
    ]
    await asyncio.sleep(0.05)  # the storm's fetch is in flight, hanging
    valid_answers = [await timed(valid) for _ in range(20)]
    storm_answers = await asyncio.gather(*storm)
    storm_seconds = time.monotonic() - storm_started

    assert all(status == 200 for status, _ in valid_answers)
    assert max(seconds for _, seconds in valid_answers) < FETCH_TIMEOUT_SECONDS / 2
    assert {status for status, _ in storm_answers} <= {401, 503}
    assert max(seconds for _, seconds in storm_answers) < FETCH_TIMEOUT_SECONDS + 0.5
    assert idp.fetches - fetches_before <= 1 + storm_seconds / COOLDOWN_SECONDS


async def test_a_key_published_ahead_of_use_is_accepted_from_its_first_token(
    idp: IdentityProvider, keys: dict[str, SigningKey], client: httpx.AsyncClient
) -> None:
    assert await status_of(client, idp.token(keys["rsa-1"])) == 200
    idp.publish(keys["rsa-1"], keys["rsa-2"], keys["ec-1"])  # step 1: publish the next key
    await asyncio.sleep(CACHE_SECONDS)  # step 2: wait one cache lifetime
    assert await status_of(client, idp.token(keys["rsa-2"])) == 200  # step 3: sign with it
    assert await status_of(client, idp.token(keys["rsa-1"])) == 200


async def test_a_key_used_before_it_was_fetched_waits_for_the_refresh_cooldown(
    idp: IdentityProvider, keys: dict[str, SigningKey], client: httpx.AsyncClient
) -> None:
    fetched_from = time.monotonic()
    assert await status_of(client, idp.token(keys["rsa-1"])) == 200
    idp.publish(keys["rsa-1"], keys["rsa-2"], keys["ec-1"])
    early = idp.token(keys["rsa-2"])
    while await status_of(client, early) == 401:
        await asyncio.sleep(0.05)
    waited = time.monotonic() - fetched_from
    assert COOLDOWN_SECONDS <= waited < COOLDOWN_SECONDS + FETCH_TIMEOUT_SECONDS


@pytest.mark.parametrize("outage", ["fail", "hang", "stopped"])
async def test_an_unknown_kid_while_the_key_server_is_down_answers_503_with_retry_after(
    idp: IdentityProvider, keys: dict[str, SigningKey], client: httpx.AsyncClient, outage: str
) -> None:
    known = idp.token(keys["rsa-1"])
    assert await status_of(client, known) == 200
    await asyncio.sleep(COOLDOWN_SECONDS)
    if outage == "stopped":
        idp.stop()
    idp.mode = outage
    response = await client.get("/v1/me", headers=idp.token(keys["rsa-2"]))
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert 1 <= int(response.headers["retry-after"]) <= COOLDOWN_SECONDS + 1
    assert await status_of(client, known) == 200, "the cached keys keep serving"


async def test_an_expired_key_set_keeps_serving_its_kids_while_the_key_server_is_down(
    idp: IdentityProvider, keys: dict[str, SigningKey], client: httpx.AsyncClient
) -> None:
    known = idp.token(keys["ec-1"])
    assert await status_of(client, known) == 200
    idp.mode = "fail"
    await asyncio.sleep(CACHE_SECONDS)
    assert await status_of(client, known) == 200
    idp.mode = "serve"
    idp.publish(keys["rsa-1"])
    await asyncio.sleep(COOLDOWN_SECONDS)
    assert await status_of(client, known) == 401, "back up: the key is gone from the set"


def _with_header(headers: dict[str, str], **changes: str) -> dict[str, str]:
    token = headers["Authorization"].removeprefix("Bearer ")
    header_part, payload, signature = token.split(".")
    header = {**jwt.get_unverified_header(token), **changes}
    encoded = jwt.utils.base64url_encode(json.dumps(header).encode()).decode()
    assert header_part != encoded
    return {"Authorization": f"Bearer {encoded}.{payload}.{signature}"}
