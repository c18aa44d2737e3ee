"""What every console route gets: the signed-in person, their language, the API on their
behalf, and a page renderer. Routes only read a form, call the API and render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData

from web_console.api import Answer, Api, SignedOut
from web_console.equipment_types import type_filter
from web_console.i18n import LOCALES, Translator, negotiate
from web_console.oidc import OpenIdConnect
from web_console.session import (
    CSRF_FIELD,
    LOCALE_COOKIE,
    Viewer,
    csrf_holds,
    csrf_token,
    remember_csrf,
    viewer_of,
)
from web_console.settings import ConsoleSettings

PREFIX = "/console"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# An id in a console address: a UUID and nothing else, before it goes into an API path.
Id = Annotated[str, Path(pattern=UUID_PATTERN)]
Mint = Callable[[str, list[str]], str]


@dataclass
class Console:
    """The console's wiring, kept on `app.state.console` by the composition root."""

    api: Api
    settings: ConsoleSettings
    pages: Environment
    roles_claim: str
    mint: Mint | None  # the development sign-in, when allowed
    oidc: OpenIdConnect | None = None  # the identity provider, when one is configured


class NotSignedIn(Exception):
    def __init__(self, back: str) -> None:
        self.back = back


class BadForm(Exception):
    """A POST without the CSRF token of this browser."""


def moment(instant: str | None) -> str:
    """An API instant (ISO-8601, UTC) as people read it: to the minute."""
    return f"{instant[:10]} {instant[11:16]} UTC" if instant and len(instant) >= 16 else ""


def page_environment() -> Environment:
    pages = Environment(
        loader=PackageLoader("web_console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    pages.filters["moment"] = moment
    pages.filters["equipment_type"] = type_filter
    return pages


@dataclass
class Screen:
    request: Request
    console: Console
    viewer: Viewer | None
    t: Translator

    def require_sign_in(self) -> Viewer:
        """The signed-in person; nobody signed in goes to the sign-in page first."""
        if self.viewer is None:
            raise NotSignedIn(self.request.url.path)
        return self.viewer

    @property
    def me(self) -> Viewer:
        return self.require_sign_in()

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        page = self.console.pages.get_template(template).render(
            t=self.t,
            locale=self.t.locale,
            locales=LOCALES,
            viewer=self.viewer,
            csrf=csrf_token(self.request),
            csrf_field=CSRF_FIELD,
            dev_sign_in=self.console.mint is not None,
            oidc=self.console.settings.oidc,
            here=str(self.request.url.path),
            query=self.request.url.query,
            prefix=PREFIX,
            **context,
        )
        response = HTMLResponse(page, status_code=status_code)
        remember_csrf(self.request, response, self.console.settings.console_secure_cookies)
        return response

    async def call(self, method: str, path: str, **options: Any) -> Answer:
        try:
            return await self.console.api.call(self.me.token, method, path, **options)
        except SignedOut:
            raise NotSignedIn(self.request.url.path) from None

    async def form(self) -> FormData:
        """The posted form, once its CSRF token matches this browser's."""
        form = await self.request.form()
        if not csrf_holds(self.request, form.get(CSRF_FIELD)):
            raise BadForm
        return form


def _screen(request: Request) -> Screen:
    console: Console = request.app.state.console
    locale = negotiate(request.cookies.get(LOCALE_COOKIE), request.headers.get("accept-language"))
    viewer = viewer_of(request, console.roles_claim)
    return Screen(request=request, console=console, viewer=viewer, t=Translator(locale))


ScreenDep = Annotated[Screen, Depends(_screen)]


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def _to_sign_in(request: Request, error: Exception) -> Response:
    back = error.back if isinstance(error, NotSignedIn) else PREFIX + "/customers"
    return see_other(f"{PREFIX}/sign-in?next={quote(back, safe='/')}")


async def _refuse_form(request: Request, error: Exception) -> Response:
    screen = _screen(request)
    return screen.render("message.html", status_code=403, message=screen.t("error.csrf"))


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NotSignedIn, _to_sign_in)
    app.add_exception_handler(BadForm, _refuse_form)
