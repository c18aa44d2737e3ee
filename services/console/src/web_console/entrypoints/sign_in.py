"""Signing in and out, and the language the console speaks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from web_console.i18n import LOCALES
from web_console.screens import PREFIX, ScreenDep, see_other
from web_console.session import LOCALE_COOKIE, sign_in, sign_out

router = APIRouter(prefix=PREFIX, include_in_schema=False)
ROLES = ("user", "admin")
SESSION_SECONDS = 12 * 3600


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
