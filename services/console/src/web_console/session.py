"""Who is signed in, and the cookies that say so.

The token lives in an HttpOnly, SameSite=Strict cookie (never in a URL or a page). Forms carry
a CSRF token that must equal a second cookie's random value (double submit); SameSite=Strict
already keeps other sites' requests from carrying either cookie.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request
from fastapi.responses import Response

SESSION_COOKIE = "customerhub_session"
CSRF_COOKIE = "customerhub_csrf"
LOCALE_COOKIE = "customerhub_locale"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as their token describes them. The console reads the claims only
    to choose what to show; the API verifies the token on every call."""

    token: str
    name: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def roles_at(claims: dict[str, Any], path: str) -> tuple[str, ...]:
    found: Any = claims
    for part in path.split("."):
        found = found.get(part) if isinstance(found, dict) else None
    if isinstance(found, str):
        return tuple(found.split())
    return tuple(str(role) for role in found) if isinstance(found, list) else ()


def viewer_of(request: Request, roles_claim: str = "roles") -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires < time.time():
        return None
    name = str(claims.get("name") or claims.get("preferred_username") or claims.get("sub", "?"))
    return Viewer(token=token, name=name, roles=roles_at(claims, roles_claim))


def csrf_token(request: Request) -> str:
    """The value forms carry: the cookie's, or a new one `remember_csrf` sets."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing:
        return existing
    fresh: str = getattr(request.state, "new_csrf", "") or secrets.token_urlsafe(32)
    request.state.new_csrf = fresh
    return fresh


def remember_csrf(request: Request, response: Response, secure: bool) -> None:
    fresh = getattr(request.state, "new_csrf", None)
    if fresh:
        response.set_cookie(
            CSRF_COOKIE, fresh, httponly=True, samesite="strict", secure=secure, path="/"
        )


def csrf_holds(request: Request, submitted: Any) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and isinstance(submitted, str) and hmac.compare_digest(cookie, submitted)


def sign_in(response: Response, token: str, *, secure: bool, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
        max_age=max_age,
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
