"""Bearer-token authentication: verifying JWTs (HS256 embedded, JWKS in production), the
`CurrentUser` / `AdminUser` route dependencies, and minting development tokens."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
import structlog
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from customerhub_shared.http.jwks import (
    KeySet,
    KeySetTiming,
    SigningKeyRefused,
    SigningKeysUnavailable,
)
from customerhub_shared.http.problems import PROBLEM_TYPES, Problem
from customerhub_shared.settings import Settings

ADMIN = "admin"
_LOCALE = re.compile(r"^([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*$")
USER = "user"
# Service accounts of downstream teams: they may only open sealed personal fields.
SUBSCRIBER = "subscriber"
HS_ALGORITHMS = ("HS256",)
JWKS_ALGORITHMS = ("RS256", "ES256")
# Verified HS256 tokens remembered, so a client's next request skips the signature check.
VERIFIED_TOKENS_KEPT = 1024

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
    # The language of the token's `locale` claim ("fr-FR" → "fr"); None without a usable one.
    locale: str | None = None

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
        key_set: KeySet | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        roles_claim: str = "roles",
        leeway_seconds: int = 30,
    ) -> None:
        if (secret is None) == (key_set is None):
            raise ValueError("give exactly one of secret (HS256) or key_set (RS256/ES256)")
        self._secret = secret
        self._key_set = key_set
        self._issuer = issuer
        self._audience = audience
        self._roles_path = tuple(roles_claim.split("."))
        self._leeway = leeway_seconds
        self._verified: VerifiedTokens = VerifiedTokens(VERIFIED_TOKENS_KEPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        claims: dict[str, Any] = {
            "issuer": settings.jwt_issuer,
            "audience": settings.jwt_audience,
            "roles_claim": settings.jwt_roles_claim,
        }
        if settings.jwks_url:
            timing = KeySetTiming(
                cache_seconds=settings.jwks_cache_seconds,
                refresh_cooldown_seconds=settings.jwks_refresh_cooldown_seconds,
                fetch_timeout_seconds=settings.jwks_fetch_timeout_seconds,
            )
            return cls(key_set=KeySet(settings.jwks_url, timing), **claims)
        return cls(secret=settings.resolved_jwt_secret(), **claims)

    def verify(self, token: str) -> Principal:
        """The principal of an HS256 token, or InvalidToken (JWKS mode: `verify_async`)."""
        if self._secret is None:
            raise RuntimeError("tokens from an identity provider are verified by verify_async")
        principal = self._verified.get(token, time.time() - self._leeway)
        if principal is None:
            principal, expires = self._decode(token, self._secret, HS_ALGORITHMS)
            self._verified.put(token, principal, expires)
        return principal

    async def verify_async(self, token: str) -> Principal:
        """The token's principal, or InvalidToken; with JWKS, SigningKeysUnavailable when the
        key server cannot be reached for a key we do not hold."""
        if self._key_set is None:
            return self.verify(token)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(f"the token is invalid: {error}") from error
        algorithm = header.get("alg")
        if algorithm not in JWKS_ALGORITHMS:
            raise InvalidToken(f"the token's algorithm must be one of {', '.join(JWKS_ALGORITHMS)}")
        kid = header.get("kid")
        try:
            key = await self._key_set.signing_key(kid if isinstance(kid, str) else None, algorithm)
        except SigningKeyRefused as error:
            raise InvalidToken(f"the token is invalid: {error}") from error
        return self._decode(token, key.key, (algorithm,))[0]

    async def close(self) -> None:
        if self._key_set is not None:
            await self._key_set.close()

    def _decode(self, token: str, key: Any, algorithms: Sequence[str]) -> tuple[Principal, float]:
        """The principal and the token's `exp`."""
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(algorithms),
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("the token has expired") from error
        except jwt.PyJWTError as error:
            raise InvalidToken(f"the token is invalid: {error}") from error
        return _principal(claims, self._roles_path), float(claims["exp"])


class VerifiedTokens:
    """The last `size` tokens verified, each until its `exp` (the secret never changes while
    the process runs; identity-provider tokens are not kept, their keys may be withdrawn)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._tokens: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def get(self, token: str, now: float) -> Principal | None:
        """The token's principal while `now` is before its `exp`, else None."""
        kept = self._tokens.get(token)
        if kept is None:
            return None
        if now >= kept[1]:
            del self._tokens[token]
            return None
        self._tokens.move_to_end(token)
        return kept[0]

    def put(self, token: str, principal: Principal, expires: float) -> None:
        self._tokens[token] = (principal, expires)
        self._tokens.move_to_end(token)
        if len(self._tokens) > self._size:
            self._tokens.popitem(last=False)


def mint_token(
    secret: str,
    *,
    sub: str,
    roles: Sequence[str],
    ttl_seconds: int = 3600 * 12,
    issuer: str | None = None,
    audience: str | None = None,
    locale: str | None = None,
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
    if locale is not None:
        claims["locale"] = locale
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
    except SigningKeysUnavailable as error:
        raise Problem(
            503,
            "Authentication unavailable",
            detail="the signing keys cannot be fetched",
            type=PROBLEM_TYPES + "authentication-unavailable",
            headers={"Retry-After": str(error.retry_after)},
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


def _principal(claims: dict[str, Any], roles_path: Sequence[str]) -> Principal:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("the token's sub claim must be a non-empty string")
    roles: Any = claims
    for name in roles_path:  # e.g. Keycloak's realm_access.roles
        roles = roles.get(name) if isinstance(roles, dict) else None
    roles = [] if roles is None else roles
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise InvalidToken(f"the token's {'.'.join(roles_path)} claim must be a list of strings")
    return Principal(sub=sub, roles=frozenset(roles), locale=_language(claims.get("locale")))


def _language(locale: Any) -> str | None:
    """An unusable locale claim is ignored, not refused: it only chooses a default."""
    if not isinstance(locale, str):
        return None
    match = _LOCALE.match(locale)
    return match.group(1).lower() if match else None
