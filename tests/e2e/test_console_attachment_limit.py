"""The embedded console's upload form takes files up to the attachment limit, not the 1 MiB
of a JSON body: its path gets the same body limit as the API's upload route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from customerhub_shared.http.auth import mint_token
from tests.e2e.conftest import ADMIN, SECRET
from web_console.session import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE

CSRF = "csrf-of-this-browser"


def signed_in_browser() -> dict[str, str]:
    """The cookies a browser holds after signing in as bob, a user."""
    token = mint_token(SECRET, sub="bob", roles=["user"])
    return {SESSION_COOKIE: token, CSRF_COOKIE: CSRF}


async def test_a_file_over_a_json_body_s_limit_is_uploaded_through_the_console(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    content = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024 // 2)  # 1.5 MiB, above max_body_bytes
    client.cookies.update(signed_in_browser())
    answer = await client.post(
        f"/console/customers/{customer['id']}/attachments",
        data={CSRF_FIELD: CSRF},
        files={"file": ("plan.pdf", content, "application/pdf")},
    )
    assert answer.status_code == 303, answer.text[:500]
    assert "tab=attachments" in answer.headers["location"]

    client.cookies.clear()
    listed = await client.get(f"/v1/customers/{customer['id']}/attachments", headers=ADMIN)
    assert [(item["file_name"], item["size"]) for item in listed.json()["items"]] == [
        ("plan.pdf", len(content))
    ]
