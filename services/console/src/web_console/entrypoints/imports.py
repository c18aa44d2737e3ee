"""Import a customer list: upload, dry-run report, run with progress (admin)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from web_console.screens import PREFIX, Id, ScreenDep, see_other

router = APIRouter(prefix=PREFIX + "/imports", include_in_schema=False)


@router.get("")
async def upload_form(screen: ScreenDep) -> Response:
    screen.require_sign_in()
    return screen.render("imports.html", report=None, problem=None)


@router.post("")
async def upload(screen: ScreenDep) -> Response:
    form = await screen.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        problem = screen.t("import.no_file")
        return screen.render("imports.html", status_code=422, report=None, problem=problem)
    content = await upload.read()
    answer = await screen.call(
        "POST",
        "/v1/imports",
        files={"file": (upload.filename, content, upload.content_type or "text/csv")},
        data={
            "dry_run": "true" if form.get("dry_run") == "on" else "false",
            "create_duplicates": "true" if form.get("create_duplicates") == "on" else "false",
        },
    )
    if not answer.ok:
        status = answer.status if answer.status < 500 else 502
        return screen.render("imports.html", status_code=status, report=None, problem=answer.reason)
    return see_other(f"{PREFIX}/imports/{answer.body['import_id']}")


@router.get("/{import_id}")
async def report(import_id: Id, screen: ScreenDep) -> Response:
    answer = await screen.call("GET", f"/v1/imports/{import_id}")
    if not answer.ok:
        return screen.render("message.html", status_code=answer.status, message=answer.reason)
    return screen.render("imports.html", report=answer.body, problem=None)
