"""A command's answer: the bytes JSONResponse would render, with its ETag."""

from __future__ import annotations

from uuid import UUID

from fastapi.responses import JSONResponse

from customer_command.application.context import CommandResult
from customer_command.entrypoints.http.runner import _answer


def test_a_commands_answer_is_the_json_starlette_would_render() -> None:
    result = CommandResult(
        UUID(int=7),
        1,
        42,
        {
            "customer_number": "C10001",
            "possible_duplicates": [{"customer_id": "x", "score": 0.667, "reasons": ["é"]}],
            "warnings": [{"code": "possible-duplicate", "customer_id": "Zoë"}],
        },
    )
    answer = _answer(result, 201, {"contact_id": "c"})
    body = {"id": str(UUID(int=7)), "version": 1, "position": 42, "contact_id": "c"}
    body.update(result.extra)
    assert answer.body == JSONResponse(body).body
    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["etag"] == '"1"'
