"""The console's only way to the data: the public HTTP API, called with the signed-in
person's token. Embedded, calls go in-process (ASGI); distributed, to each service's URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

ServiceName = Literal["command", "query", "equipment", "notifications"]
SERVICES: tuple[ServiceName, ...] = ("command", "query", "equipment", "notifications")


class SignedOut(Exception):
    """The API refused the token (401): the person has to sign in again."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def reason(self) -> str:
        """What a refusal says, for the person: the problem's detail, else its title."""
        if isinstance(self.body, dict):
            return str(self.body.get("detail") or self.body.get("title") or self.status)
        return str(self.status)

    def field_errors(self) -> dict[str, str]:
        """A 422's `errors[].loc` mapped to form field names: the body's field, dotted below."""
        errors = self.body.get("errors", []) if isinstance(self.body, dict) else []
        mapped: dict[str, str] = {}
        for error in errors:
            loc = [str(part) for part in error.get("loc", []) if part != "body"]
            name = ".".join(loc) or "_form"
            mapped.setdefault(name, str(error.get("msg", "")).removeprefix("Value error, "))
        return mapped


def service_of(method: str, path: str) -> ServiceName:
    """Which service answers a route, as DESIGN's tables split them."""
    if path.startswith("/v1/notifications"):
        return "notifications"
    if path.startswith("/v1/equipment"):
        return "equipment"
    if path.startswith("/v1/customers/") and "/attachments" in path:
        return "command"  # kept by customer-command in every mode, reads included
    if path.startswith("/v1/customers") and method == "GET":
        return "query"
    return "command"


class Api:
    """One HTTP client per service (embedded: one for all, through the app itself)."""

    def __init__(self, clients: Mapping[ServiceName, httpx.AsyncClient]) -> None:
        self._clients = dict(clients)

    @classmethod
    def in_process(cls, app: Any, timeout: float) -> Api:
        # Through the app's own ASGI stack: every middleware, auth check and problem handler
        # applies as over the network, with no second port or bind address to know.
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://customerhub", timeout=timeout
        )
        return cls(dict.fromkeys(SERVICES, client))

    @classmethod
    def over_http(cls, urls: Mapping[ServiceName, str], timeout: float) -> Api:
        return cls(
            {name: httpx.AsyncClient(base_url=url, timeout=timeout) for name, url in urls.items()}
        )

    async def close(self) -> None:
        for client in {id(c): c for c in self._clients.values()}.values():
            await client.aclose()

    async def call(
        self,
        token: str,
        method: str,
        path: str,
        *,
        service: ServiceName | None = None,
        params: Any = None,
        json: Any = None,
        files: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        client = self._clients[service or service_of(method, path)]
        response = await client.request(
            method,
            path,
            params=params,
            json=json,
            files=files,
            data=data,
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
        )
        if response.status_code == 401:
            raise SignedOut
        kind = response.headers.get("content-type", "")
        body = response.json() if "json" in kind and response.content else None
        return Answer(response.status_code, body, dict(response.headers), response.content)

    async def public(self, path: str, *, service: ServiceName) -> Answer:
        """A route that needs no token (health)."""
        response = await self._clients[service].get(path)
        kind = response.headers.get("content-type", "")
        body = response.json() if "json" in kind and response.content else None
        return Answer(response.status_code, body, dict(response.headers))
