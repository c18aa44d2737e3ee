"""Authentication: HS256 tokens by default, RS256/ES256 through a JWKS served over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from customerhub_shared.http.auth import (
    AdminUser,
    CurrentUser,
    InvalidToken,
    Principal,
    TokenVerifier,
    VerifiedTokens,
    mint_token,
)
from customerhub_shared.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from customerhub_shared.settings import Settings

SECRET = "test-secret-long-enough-for-hs256-0123456789"
ISSUER = "https://idp.example/"
AUDIENCE = "customerhub"


def service_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.token_verifier = verifier

    @app.get("/v1/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        actor = structlog.contextvars.get_contextvars().get("actor")
        return {"sub": user.sub, "roles": sorted(user.roles), "actor": actor}

    @app.post("/v1/customers/{customer_id}/merge")
    async def merge(customer_id: str, admin: AdminUser) -> dict[str, str]:
        return {"merged_by": admin.sub}

    return app


def client_for(verifier: TokenVerifier) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=service_app(verifier))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(TokenVerifier(secret=SECRET)) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: httpx.Response, detail_part: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert detail_part in response.json()["detail"]


async def test_request_without_token_answers_401_with_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/me")
    assert_unauthorized(response, "no bearer token")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_non_bearer_authorization_answers_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert_unauthorized(response, "Bearer <JWT>")


async def test_token_signed_with_another_secret_answers_401(client: httpx.AsyncClient) -> None:
    forged = mint_token("another-secret-long-enough-for-hs256-xyz", sub="mallory", roles=["admin"])
    assert_unauthorized(await client.get("/v1/me", headers=bearer(forged)), "Signature")


async def test_garbage_token_answers_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.get("/v1/me", headers=bearer("not.a.jwt")), "invalid")


async def test_expired_token_answers_401(client: httpx.AsyncClient) -> None:
    expired = mint_token(SECRET, sub="alice", roles=["user"], ttl_seconds=-120)
    assert_unauthorized(await client.get("/v1/me", headers=bearer(expired)), "expired")


async def test_token_without_exp_answers_401(client: httpx.AsyncClient) -> None:
    eternal = jwt.encode({"sub": "alice", "roles": ["user"]}, SECRET, algorithm="HS256")
    assert_unauthorized(await client.get("/v1/me", headers=bearer(eternal)), "exp")


async def test_token_without_sub_answers_401(client: httpx.AsyncClient) -> None:
    anonymous = jwt.encode({"exp": time.time() + 60, "roles": ["user"]}, SECRET)
    assert_unauthorized(await client.get("/v1/me", headers=bearer(anonymous)), "sub")


async def test_roles_claim_that_is_not_a_list_answers_401(client: httpx.AsyncClient) -> None:
    token = jwt.encode({"sub": "alice", "exp": time.time() + 60, "roles": "admin"}, SECRET)
    assert_unauthorized(await client.get("/v1/me", headers=bearer(token)), "roles")


async def test_user_is_served_and_bound_as_actor(client: httpx.AsyncClient) -> None:
    token = mint_token(SECRET, sub="alice", roles=["user"])
    response = await client.get("/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "roles": ["user"], "actor": "alice"}


async def test_token_without_roles_is_authenticated_but_forbidden(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/me", headers=bearer(mint_token(SECRET, sub="bot", roles=[])))
    assert response.status_code == 403


async def test_user_on_an_admin_route_answers_403_problem(client: httpx.AsyncClient) -> None:
    token = mint_token(SECRET, sub="alice", roles=["user"])
    response = await client.post("/v1/customers/6f1c/merge", headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["type"].endswith("/forbidden")
    assert "admin" in response.json()["detail"]


async def test_admin_is_served_on_admin_and_user_routes(client: httpx.AsyncClient) -> None:
    token = bearer(mint_token(SECRET, sub="root", roles=["admin"]))
    merged = await client.post("/v1/customers/6f1c/merge", headers=token)
    assert merged.json() == {"merged_by": "root"}
    assert (await client.get("/v1/me", headers=token)).status_code == 200


async def test_issuer_and_audience_are_enforced_when_configured() -> None:
    verifier = TokenVerifier(secret=SECRET, issuer=ISSUER, audience=AUDIENCE)
    good = mint_token(SECRET, sub="alice", roles=["user"], issuer=ISSUER, audience=AUDIENCE)
    wrong_audience = mint_token(SECRET, sub="alice", roles=["user"], issuer=ISSUER, audience="x")
    no_issuer = mint_token(SECRET, sub="alice", roles=["user"], audience=AUDIENCE)
    async with client_for(verifier) as client:
        assert (await client.get("/v1/me", headers=bearer(good))).status_code == 200
        assert (await client.get("/v1/me", headers=bearer(wrong_audience))).status_code == 401
        assert (await client.get("/v1/me", headers=bearer(no_issuer))).status_code == 401


def test_embedded_verifier_accepts_what_the_cli_mints_with_the_persisted_secret(
    tmp_path: Path,
) -> None:
    verifier = TokenVerifier.from_settings(Settings(data_dir=tmp_path))
    cli_settings = Settings(data_dir=tmp_path)  # another process, same data directory
    token = mint_token(cli_settings.resolved_jwt_secret(), sub="dev-admin", roles=["admin"])
    assert verifier.verify(token) == Principal(sub="dev-admin", roles=frozenset({"admin"}))


def test_a_verified_token_is_kept_until_its_exp_and_no_longer() -> None:
    verifier = TokenVerifier(secret=SECRET, leeway_seconds=0)
    token = mint_token(SECRET, sub="alice", roles=["user"], ttl_seconds=1)
    alice = Principal(sub="alice", roles=frozenset({"user"}))
    assert verifier.verify(token) == alice
    assert verifier.verify(token) == alice  # from the kept answer
    time.sleep(2.1)  # exp is a whole second: past it whatever the fraction at minting
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_a_tampered_token_is_refused_though_its_original_is_kept() -> None:
    verifier = TokenVerifier(secret=SECRET)
    token = mint_token(SECRET, sub="alice", roles=["user"])
    verifier.verify(token)
    header, claims, signature = token.split(".")
    forged = ".".join(
        (header, claims, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB"))
    )
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_kept_tokens_are_bounded_the_least_recently_used_going_first() -> None:
    kept = VerifiedTokens(2)
    alice, bob = Principal("alice", frozenset()), Principal("bob", frozenset())
    kept.put("a", alice, expires=100.0)
    kept.put("b", bob, expires=100.0)
    assert kept.get("a", now=50.0) == alice  # "b" is now the least recently used
    kept.put("c", bob, expires=100.0)
    assert kept.get("b", now=50.0) is None
    assert kept.get("a", now=50.0) == alice
    assert kept.get("a", now=100.0) is None  # at exp: no longer
    assert kept.get("a", now=50.0) is None  # and forgotten


# --- production: keys published as a JWKS by the identity provider -------------------------


class IdentityProvider:
    """Signs tokens with its private keys and publishes the public halves over HTTP."""

    def __init__(self) -> None:
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        rsa_jwk = RSAAlgorithm.to_jwk(self.rsa_key.public_key(), as_dict=True)
        ec_jwk = ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True)
        self.jwks = json.dumps(
            {
                "keys": [
                    {**rsa_jwk, "kid": "rsa-1", "use": "sig", "alg": "RS256"},
                    {**ec_jwk, "kid": "ec-1", "use": "sig", "alg": "ES256"},
                ]
            }
        ).encode()
        self.url = ""

    def token(
        self, *, key: Any = None, kid: str = "rsa-1", alg: str = "RS256", **claims: Any
    ) -> str:
        payload = {
            "sub": "alice",
            "roles": ["user"],
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 60,
            **claims,
        }
        return jwt.encode(payload, key or self.rsa_key, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()

    class JWKSHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(provider.jwks)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JWKSHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    yield provider
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
async def jwks_client(idp: IdentityProvider) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(jwks_url=idp.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    async with client_for(TokenVerifier.from_settings(settings)) as client:
        yield client


async def test_jwks_rs256_token_from_the_provider_is_accepted(
    idp: IdentityProvider, jwks_client: httpx.AsyncClient
) -> None:
    response = await jwks_client.get("/v1/me", headers=bearer(idp.token()))
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


async def test_jwks_es256_token_from_the_provider_is_accepted(
    idp: IdentityProvider, jwks_client: httpx.AsyncClient
) -> None:
    token = idp.token(key=idp.ec_key, kid="ec-1", alg="ES256", sub="bob", roles=["admin"])
    response = await jwks_client.post("/v1/customers/6f1c/merge", headers=bearer(token))
    assert response.json() == {"merged_by": "bob"}


async def test_jwks_token_signed_by_another_key_under_a_published_kid_answers_401(
    idp: IdentityProvider, jwks_client: httpx.AsyncClient
) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = idp.token(key=impostor, kid="rsa-1", roles=["admin"])
    assert_unauthorized(await jwks_client.get("/v1/me", headers=bearer(token)), "Signature")


async def test_jwks_token_with_an_unknown_kid_answers_401(
    idp: IdentityProvider, jwks_client: httpx.AsyncClient
) -> None:
    token = idp.token(kid="rotated-away")
    assert_unauthorized(await jwks_client.get("/v1/me", headers=bearer(token)), "signing key")


async def test_jwks_mode_refuses_hs256_tokens(jwks_client: httpx.AsyncClient) -> None:
    token = mint_token(SECRET, sub="alice", roles=["admin"], issuer=ISSUER, audience=AUDIENCE)
    assert (await jwks_client.get("/v1/me", headers=bearer(token))).status_code == 401


async def test_jwks_token_for_another_audience_answers_401(
    idp: IdentityProvider, jwks_client: httpx.AsyncClient
) -> None:
    token = idp.token(aud="another-service")
    assert_unauthorized(await jwks_client.get("/v1/me", headers=bearer(token)), "Audience")


async def test_unreachable_key_set_answers_503_not_401() -> None:
    settings = Settings(jwks_url="http://127.0.0.1:9/jwks.json")
    async with client_for(TokenVerifier.from_settings(settings)) as client:
        idp_token = jwt.encode(
            {"sub": "alice", "exp": int(time.time()) + 60},
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256",
            headers={"kid": "rsa-1"},
        )
        response = await client.get("/v1/me", headers=bearer(idp_token))
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
