"""A customer's attachments: upload, download and remove (after a confirmation), each through
the public API; the console passes the bytes along and keeps none of them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from web_console.api import Answer
from web_console.entrypoints.customer import page_path, show
from web_console.screens import PREFIX, Id, Screen, ScreenDep, see_other

router = APIRouter(prefix=PREFIX + "/customers/{customer_id}/attachments", include_in_schema=False)
TAB = "attachments"
# What a download keeps from the API's answer: the checked type, the file's name, and the
# headers that stop a browser from rendering it as a page of this origin.
PASSED_ON = ("content-type", "content-disposition", "x-content-type-options")
# Refusals of an upload the person can act on, by the problem's type (the end of its URI).
UPLOAD_PROBLEMS = {
    "attachment-too-large": "attachments.too_large",
    "attachment-type-unsupported": "attachments.type_unsupported",
    "attachment-type-mismatch": "attachments.type_mismatch",
}


def _api_path(customer_id: str, attachment_id: str | None = None) -> str:
    path = f"/v1/customers/{customer_id}/attachments"
    return f"{path}/{attachment_id}" if attachment_id else path


def upload_problem(screen: Screen, answer: Answer) -> str:
    """What to say next to the file field: the refusal in the person's language when we know
    it (a body over the size limit is 413 whoever refuses it), else what the API said."""
    kind = answer.body.get("type", "") if isinstance(answer.body, dict) else ""
    slug = str(kind).rsplit("/", 1)[-1]
    if answer.status == 413:
        slug = "attachment-too-large"
    key = UPLOAD_PROBLEMS.get(slug)
    return screen.t(key) if key else answer.reason


@router.post("")
async def upload(customer_id: Id, screen: ScreenDep) -> Response:
    form = await screen.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors = {"file": screen.t("attachments.no_file")}
        return await show(screen, customer_id, TAB, errors=errors, status_code=422)
    declared = upload.content_type or "application/octet-stream"
    answer = await screen.call(
        "POST", _api_path(customer_id), files={"file": (upload.filename, upload.file, declared)}
    )
    if answer.ok:
        return see_other(page_path(customer_id, TAB, answer.body.get("position")))
    if answer.status in (413, 415, 422):
        errors = {"file": upload_problem(screen, answer)}
        return await show(screen, customer_id, TAB, errors=errors, status_code=answer.status)
    status = answer.status if answer.status < 500 else 502
    return await show(screen, customer_id, TAB, problem=answer.reason, status_code=status)


@router.get("/{attachment_id}")
async def download(customer_id: Id, attachment_id: Id, screen: ScreenDep) -> Response:
    answer = await screen.call("GET", _api_path(customer_id, attachment_id))
    if not answer.ok:
        return screen.render("message.html", status_code=answer.status, message=answer.reason)
    headers = {name: answer.headers[name] for name in PASSED_ON if name in answer.headers}
    headers |= {"Content-Security-Policy": "sandbox", "Cache-Control": "private, no-store"}
    return Response(answer.content, headers=headers)


async def _confirm_page(
    screen: Screen,
    customer_id: str,
    attachment_id: str,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    customer = await screen.call("GET", f"/v1/customers/{customer_id}")
    listed = await screen.call("GET", _api_path(customer_id))
    if not customer.ok or not listed.ok:
        failed = listed if customer.ok else customer
        return screen.render("message.html", status_code=failed.status, message=failed.reason)
    found: list[dict[str, Any]] = [
        item for item in listed.body["items"] if item["attachment_id"] == attachment_id
    ]
    if not found:
        return screen.render("message.html", status_code=404, message=screen.t("error.not_found"))
    return screen.render(
        "attachment_remove.html",
        status_code=status_code,
        customer=customer.body,
        attachment=found[0],
        problem=problem,
    )


@router.get("/{attachment_id}/remove")
async def confirm_removal(customer_id: Id, attachment_id: Id, screen: ScreenDep) -> Response:
    return await _confirm_page(screen, customer_id, attachment_id)


@router.post("/{attachment_id}/remove")
async def remove(customer_id: Id, attachment_id: Id, screen: ScreenDep) -> Response:
    await screen.form()
    answer = await screen.call("DELETE", _api_path(customer_id, attachment_id))
    if answer.ok:
        return see_other(page_path(customer_id, TAB, answer.body.get("position")))
    status = answer.status if answer.status < 500 else 502
    return await _confirm_page(
        screen, customer_id, attachment_id, problem=answer.reason, status_code=status
    )
