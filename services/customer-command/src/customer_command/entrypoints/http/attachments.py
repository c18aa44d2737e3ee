"""Routes for a customer's attachments: upload, list, download, remove.

Served by customer-command in every mode: the list is read from the customer's stream and the
bytes from the blob store, both of which this service holds.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from customer_command.application import commands as c
from customer_command.application.attachments import list_attachments, open_attachment
from customer_command.domain.state import Attachment
from customer_command.domain.values import attachment_file_name
from customer_command.entrypoints.http.answers import (
    CUSTOMER_PROBLEMS,
    AttachmentAdded,
    command_route,
)
from customer_command.entrypoints.http.problems import PROBLEMS, problem_for
from customer_command.entrypoints.http.runner import Service, UserCall, execute
from customerhub_shared.http.auth import CurrentUser
from customerhub_shared.http.openapi import answer_headers, problem_responses
from customerhub_shared.http.problems import Problem

router = APIRouter(prefix="/v1/customers/{customer_id}/attachments", tags=["attachments"])
_READ_PROBLEMS = (404, 409, 410, 503)
_CHUNK = 1024 * 1024
_BINARY = {"type": "string", "format": "binary"}


class AttachmentOut(BaseModel):
    attachment_id: str
    file_name: str | None = Field(description="As uploaded; null once erased")
    size: int = Field(description="Bytes")
    content_type: str = Field(description="As checked against the file's bytes")
    sha256: str | None = Field(description="The content's SHA-256, hex; null once erased")
    added_by: str
    added_at: datetime


class AttachmentList(BaseModel):
    items: list[AttachmentOut] = Field(description="Oldest first")


@router.post(
    "",
    summary="Attach a file (multipart field `file`, at most 25 MiB by default)",
    description="The declared type must agree with the file's bytes (PDF, PNG, JPEG, GIF, "
    "WebP, DOCX, XLSX, PPTX, ODF, legacy Office, ZIP, plain text and CSV are checked); "
    "declare application/octet-stream, or nothing, to have it found from the bytes.",
    **command_route(
        201,
        model=AttachmentAdded,
        problems=(*CUSTOMER_PROBLEMS, 413, 415, 503),
    ),
)
async def add_attachment(
    customer_id: UUID,
    call: UserCall,
    file: Annotated[UploadFile, File(description="The file; its name is personal data")],
) -> Response:
    content = await _read_within(file, call.service.attachment_max_bytes)
    name = attachment_file_name(file.filename)
    command = c.AddAttachment(
        customer_id,
        call.new_child_id(customer_id, "attachment"),
        name,
        file.content_type,
        call.principal.sub,
        datetime.now(UTC),
        content,
    )
    extra = {"attachment_id": str(command.attachment_id)}
    fingerprint = hashlib.sha256(
        b"\x1f".join([content, name.encode(), (file.content_type or "").encode()])
    )
    fingerprint.update(call.request.headers.get("if-match", "").encode())
    return await execute(
        call, command, status_code=201, extra=extra, fingerprint=fingerprint.hexdigest()
    )


@router.get(
    "",
    summary="List a customer's attachments",
    response_model=AttachmentList,
    responses=problem_responses(*_READ_PROBLEMS),
)
async def get_attachments(
    customer_id: UUID, service: Service, _user: CurrentUser
) -> AttachmentList:
    try:
        listed = await list_attachments(service.ports.customers, customer_id)
    except Exception as error:
        raise problem_for(error) or error from error
    return AttachmentList(items=[_out(attachment) for attachment in listed])


@router.get(
    "/{attachment_id}",
    summary="Download an attachment (its bytes, with its type and file name)",
    response_class=Response,
    responses={
        200: {
            **answer_headers(200, "Content-Disposition", description="The file's bytes")[200],
            "content": {"application/octet-stream": {"schema": _BINARY}},
        },
        **problem_responses(*_READ_PROBLEMS),
    },
)
async def download_attachment(
    customer_id: UUID, attachment_id: UUID, service: Service, _user: CurrentUser
) -> Response:
    ports = service.ports
    try:
        attachment, content = await open_attachment(
            ports.customers, ports.blobs, ports.keyring, customer_id, attachment_id
        )
    except Exception as error:
        raise problem_for(error) or error from error
    return Response(
        content,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": _disposition(attachment.file_name),
            # Served as the checked type only, and never rendered as a page of this origin.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@router.delete(
    "/{attachment_id}",
    summary="Remove an attachment (its bytes are deleted)",
    **command_route(problems=(*CUSTOMER_PROBLEMS, 503)),
)
async def remove_attachment(customer_id: UUID, attachment_id: UUID, call: UserCall) -> Response:
    return await execute(call, c.RemoveAttachment(customer_id, attachment_id, call.principal.sub))


async def _read_within(file: UploadFile, limit: int) -> bytes:
    """The file's bytes, read in chunks so a file over the limit is refused without holding
    more than the limit."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise Problem(
                413,
                "Attachment too large",
                detail=f"an attachment may have at most {limit} bytes",
                type=PROBLEMS + "attachment-too-large",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _out(attachment: Attachment) -> AttachmentOut:
    return AttachmentOut(
        attachment_id=str(attachment.attachment_id),
        file_name=attachment.file_name,
        size=attachment.size,
        content_type=attachment.content_type,
        sha256=attachment.sha256,
        added_by=attachment.added_by,
        added_at=attachment.added_at,
    )


def _disposition(file_name: str | None) -> str:
    """RFC 6266: an ASCII fallback, and the exact name in UTF-8 for the clients that read it."""
    name = file_name or "attachment"
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
