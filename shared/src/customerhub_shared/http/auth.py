"""Bearer-token authentication: verifying JWTs (HS256 embedded, JWKS in production), the
`CurrentUser` / `AdminUser` route dependencies, and minting development tokens."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
import structlog
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from customerhub_shared.http.problems import PROBLEM_TYPES, Problem
from customerhub_shared.settings import Settings

ADMIN = "admin"
USER = "user"
# Service accounts of downstream teams: they may only open sealed personal fields.
SUBSCRIBER = "subscriber"
HS_ALGORITHMS = ("HS256",)
JWKS_ALGORITHMS = ("RS256", "ES256")

# Declares the scheme in OpenAPI (the Authorize button in /docs); parsing is ours.
_BEARER_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="A JWT with `sub` (the actor) and `roles` (`admin`, `user`)",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject (recorded as the actor) and roles."""

    sub: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles


class InvalidToken(Exception):
    """The token is missing a claim, expired, tampered with or otherwise unacceptable."""


class TokenVerifier:
    """Checks a bearer token and says whose it is; built once per app by the lifespan."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_client: jwt.PyJWKClient | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        leeway_seconds: int = 30,
    ) -> None:
        if (secret is None) == (jwks_client is None):
            raise ValueError("give exactly one of secret (HS256) or jwks_client (RS256/ES256)")
        self._secret = secret
        self._jwks_client = jwks_client
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        if settings.jwks_url:
            client = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, timeout=5)
            return cls(
                jwks_client=client, issuer=settings.jwt_issuer, audience=settings.jwt_audience
            )
        return cls(
            secret=settings.resolved_jwt_secret(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )

    def verify(self, token: str) -> Principal:
        """The token's principal, or InvalidToken. With JWKS this may fetch the key set."""
        try:
            claims = jwt.decode(
                token,
                key=self._key_for(token),
                algorithms=list(JWKS_ALGORITHMS if self._jwks_client else HS_ALGORITHMS),
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("the token has expired") from error
        except jwt.PyJWKClientConnectionError:
            raise  # our key set is unreachable: not the caller's fault
        except jwt.PyJWTError as error:
            raise InvalidToken(f"the token is invalid: {error}") from error
        return _principal(claims)

    async def verify_async(self, token: str) -> Principal:
        """`verify` without blocking the event loop on a key-set download."""
        if self._jwks_client is None:
            return self.verify(token)
        return await run_in_threadpool(self.verify, token)

    def _key_for(self, token: str) -> Any:
        if self._jwks_client is not None:
            return self._jwks_client.get_signing_key_from_jwt(token).key
        return self._secret


def mint_token(
    secret: str,
    *,
    sub: str,
    roles: Sequence[str],
    ttl_seconds: int = 3600 * 12,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """An HS256 token the embedded verifier accepts; for development and tests."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": list(roles),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, bound as `actor` on every later log line."""
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError("app.state.token_verifier is not set: build it in the app's lifespan")
    token = _bearer_token(request)
    try:
        principal = await verifier.verify_async(token)
    except InvalidToken as error:
        raise _unauthorized(str(error), invalid=True) from error
    except jwt.PyJWKClientConnectionError as error:
        raise Problem(
            503,
            "Authentication unavailable",
            detail="the signing keys cannot be fetched",
            type=PROBLEM_TYPES + "authentication-unavailable",
        ) from error
    structlog.contextvars.bind_contextvars(actor=principal.sub)
    return principal


class RoleRequirement:
    """A dependency admitting a principal with any of `roles`; `admin` is always admitted.
    A class, so the OpenAPI document can name the roles each operation needs."""

    def __init__(self, *roles: str) -> None:
        self.roles = tuple(sorted(frozenset(roles) | {ADMIN}))

    async def __call__(
        self,
        principal: Annotated[Principal, Depends(current_principal)],
        _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER_SCHEME)],
    ) -> Principal:
        if principal.roles & frozenset(self.roles):
            return principal
        raise Problem(
            403,
            "Forbidden",
            type=PROBLEM_TYPES + "forbidden",
            detail="this action needs one of the roles: " + ", ".join(self.roles),
        )


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting a principal with any of `roles`; `admin` is always admitted."""
    return RoleRequirement(*roles)


CurrentUser = Annotated[Principal, Depends(require_roles(USER, ADMIN))]
AdminUser = Annotated[Principal, Depends(require_roles(ADMIN))]
Subscriber = Annotated[Principal, Depends(require_roles(SUBSCRIBER, ADMIN))]


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("no bearer token: send Authorization: Bearer <JWT>", invalid=False)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <JWT>'", invalid=True)
    return token.strip()


def _unauthorized(detail: str, *, invalid: bool) -> Problem:
    # RFC 6750: a bare challenge when no token came, error="invalid_token" when one was refused.
    challenge = 'Bearer error="invalid_token"' if invalid else "Bearer"
    return Problem(
        401,
        "Unauthorized",
        detail=detail,
        type=PROBLEM_TYPES + "unauthorized",
        headers={"WWW-Authenticate": challenge},
    )


def _principal(claims: dict[str, Any]) -> Principal:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("the token's sub claim must be a non-empty string")
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise InvalidToken("the token's roles claim must be a list of strings")
    return Principal(sub=sub, roles=frozenset(roles))
