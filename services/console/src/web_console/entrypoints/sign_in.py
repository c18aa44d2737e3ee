"""Signing in and out, and the language the console speaks."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from web_console.i18n import LOCALES
from web_console.oidc import SignInFailed, Transaction
from web_console.screens import PREFIX, Screen, ScreenDep, see_other
from web_console.session import LOCALE_COOKIE, sign_in, sign_out

router = APIRouter(prefix=PREFIX, include_in_schema=False)
ROLES = ("user", "admin")
SESSION_SECONDS = 12 * 3600
# Lax, not Strict: the browser comes back from the issuer's site with it.
OIDC_COOKIE = "customerhub_oidc"
OIDC_COOKIE_PATH = PREFIX + "/sign-in"


def _inside(path: str | None) -> str:
    """Only back into the console, never to another site."""
    if path and path.startswith(PREFIX + "/") and not path.startswith("//"):
        return path
    return PREFIX + "/customers"


async def home() -> RedirectResponse:
    return see_other(PREFIX + "/customers")


@router.get("/sign-in")
async def sign_in_page(
    screen: ScreenDep, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    return screen.render("sign_in.html", next=_inside(next), roles=ROLES, error=None)


@router.post("/sign-in")
async def development_sign_in(screen: ScreenDep) -> Response:
    form = await screen.form()
    mint = screen.console.mint
    name = str(form.get("name", "")).strip()
    role = str(form.get("role", ""))
    if mint is None:
        return screen.render("message.html", status_code=404, message=screen.t("signin.no_dev"))
    if not name or len(name) > 100 or role not in ROLES:
        error = screen.t("signin.invalid")
        page = screen.render(
            "sign_in.html", status_code=422, next=_inside(None), roles=ROLES, error=error
        )
        return page
    response = see_other(_inside(str(form.get("next", ""))))
    secure = screen.console.settings.console_secure_cookies
    sign_in(response, mint(name, [role]), secure=secure, max_age=SESSION_SECONDS)
    return response


@router.post("/sign-out")
async def sign_out_now(screen: ScreenDep) -> Response:
    await screen.form()
    response = see_other(PREFIX + "/sign-in")
    sign_out(response)
    return response


@router.post("/locale")
async def choose_locale(screen: ScreenDep) -> Response:
    form = await screen.form()
    locale = str(form.get("locale", ""))
    response = see_other(_inside(str(form.get("back", ""))))
    if locale in LOCALES:
        response.set_cookie(LOCALE_COOKIE, locale, samesite="strict", path="/", max_age=365 * 86400)
    return response


def _failed(screen: Screen, reason: str, status_code: int = 400) -> Response:
    error = screen.t("signin.failed", reason=reason)
    page = screen.render(
        "sign_in.html", status_code=status_code, next=_inside(None), roles=ROLES, error=error
    )
    page.delete_cookie(OIDC_COOKIE, path=OIDC_COOKIE_PATH)
    return page


@router.get("/sign-in/oidc")
async def leave_for_the_issuer(
    screen: ScreenDep, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    oidc = screen.console.oidc
    if oidc is None:
        return screen.render("message.html", status_code=404, message=screen.t("signin.none"))
    transaction = Transaction.begin(_inside(next))
    try:
        response: Response = see_other(await oidc.authorization_url(transaction))
    except SignInFailed as failed:
        return _failed(screen, str(failed), status_code=502)
    response.set_cookie(
        OIDC_COOKIE,
        transaction.cookie(),
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=screen.console.settings.console_secure_cookies,
        path=OIDC_COOKIE_PATH,
    )
    return response


@router.get("/sign-in/callback")
async def back_from_the_issuer(screen: ScreenDep) -> Response:
    oidc = screen.console.oidc
    query = screen.request.query_params
    transaction = Transaction.from_cookie(screen.request.cookies.get(OIDC_COOKIE))
    if oidc is None:
        return screen.render("message.html", status_code=404, message=screen.t("signin.none"))
    if "error" in query:
        return _failed(screen, query.get("error_description") or query["error"])
    if transaction is None or not secrets.compare_digest(query.get("state", ""), transaction.state):
        return _failed(screen, "state")
    try:
        tokens = await oidc.exchange(query.get("code", ""), transaction)
    except SignInFailed as failed:
        return _failed(screen, str(failed))
    # A page, not a redirect: the session cookie is SameSite=Strict, and a redirect chain that
    # began on the issuer's site would not carry it to the next page.
    response = screen.render("signed_in.html", next=transaction.next)
    secure = screen.console.settings.console_secure_cookies
    sign_in(response, tokens.access_token, secure=secure, max_age=tokens.expires_in)
    response.delete_cookie(OIDC_COOKIE, path=OIDC_COOKIE_PATH)
    return response
