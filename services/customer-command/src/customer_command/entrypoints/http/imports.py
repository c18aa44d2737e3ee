"""Routes that import a customer list (CSV or XLSX) and report on the import."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from customer_command.adapters.spreadsheets import UnreadableSheet
from customer_command.application.imports.ports import ImportOptions, ImportRecord, RowNote
from customer_command.application.imports.rows import InvalidMapping
from customer_command.application.imports.runner import ImportRunner
from customer_command.entrypoints.http.problems import PROBLEMS
from customerhub_shared.http.auth import AdminUser
from customerhub_shared.http.openapi import problem_responses
from customerhub_shared.http.problems import Problem

router = APIRouter(prefix="/v1/imports", tags=["imports"])
NOTES_SHOWN = 1000


class ImportAccepted(BaseModel):
    import_id: str


class ImportCounts(BaseModel):
    created: int
    updated: int
    unchanged: int
    duplicates: int = Field(description="Likely duplicates of existing customers, not created")
    failed: int


class ImportProgress(BaseModel):
    processed: int = Field(description="Rows with an outcome so far")
    total: int | None = Field(description="Customer rows in the file (None until counted)")


class RowProblem(BaseModel):
    row: int = Field(description="The spreadsheet row number (the header is row 1)")
    field: str | None
    message: str


class DuplicateMatch(BaseModel):
    customer_id: str
    score: float


class DuplicateRow(BaseModel):
    row: int
    matches: list[DuplicateMatch]


class ImportReport(BaseModel):
    import_id: str
    status: Literal["queued", "running", "completed", "failed"]
    file_name: str
    dry_run: bool
    create_duplicates: bool
    counts: ImportCounts
    progress: ImportProgress
    errors: list[RowProblem] = Field(description=f"The first {NOTES_SHOWN} rows' problems")
    duplicates: list[DuplicateRow]
    created_at: datetime
    finished_at: datetime | None


def _runner(request: Request) -> ImportRunner:
    runner: ImportRunner = request.app.state.customer_imports
    return runner


def _options(mapping: str | None, dry_run: bool, create_duplicates: bool) -> ImportOptions:
    try:
        parsed = json.loads(mapping) if mapping else {}
    except json.JSONDecodeError:
        raise _refused("mapping must be a JSON object of column → field") from None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
    ):
        raise _refused("mapping must be a JSON object of column → field")
    return ImportOptions(dry_run=dry_run, create_duplicates=create_duplicates, mapping=parsed)


def _refused(detail: str) -> Problem:
    return Problem(422, "Import refused", detail=detail, type=PROBLEMS + "import-refused")


@router.post(
    "",
    status_code=202,
    summary="Import customers from a CSV or XLSX file (admin)",
    response_model=ImportAccepted,
    responses=problem_responses(422, s422="Not a readable CSV/XLSX, or an invalid mapping"),
)
async def start_import(
    request: Request,
    admin: AdminUser,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or Windows-1252, , or ;) or XLSX")],
    mapping: Annotated[str | None, Form(description='JSON {"column": "field"}')] = None,
    dry_run: Annotated[bool, Form()] = False,
    create_duplicates: Annotated[bool, Form()] = False,
) -> ImportAccepted:
    runner = _runner(request)
    options = _options(mapping, dry_run, create_duplicates)
    try:
        record = await runner.submit(
            await file.read(),
            file_name=file.filename or "upload",
            actor=admin.sub,
            options=options,
        )
    except (UnreadableSheet, InvalidMapping) as refused:
        raise _refused(str(refused)) from refused
    runner.start(record.import_id)
    return ImportAccepted(import_id=str(record.import_id))


@router.get(
    "/{import_id}",
    summary="An import's status, counts, progress and row problems (admin)",
    response_model=ImportReport,
    responses=problem_responses(404, s404="Unknown import"),
)
async def get_import(request: Request, import_id: UUID, _admin: AdminUser) -> ImportReport:
    store = _runner(request).store
    record = await store.get(import_id)
    if record is None:
        raise Problem(404, "Import not found", type=PROBLEMS + "import-not-found")
    return report(record, await store.notes(import_id, limit=NOTES_SHOWN))


def report(record: ImportRecord, notes: list[RowNote]) -> ImportReport:
    processed = sum(record.counts.values())
    return ImportReport(
        import_id=str(record.import_id),
        status=record.status,
        file_name=record.file_name,
        dry_run=record.options.dry_run,
        create_duplicates=record.options.create_duplicates,
        counts=ImportCounts(**record.counts),
        progress=ImportProgress(processed=processed, total=record.total_rows),
        errors=[
            RowProblem(row=n.row, field=n.field, message=n.message)
            for n in notes
            if n.kind == "error"
        ],
        duplicates=[
            DuplicateRow(
                row=n.row,
                matches=[DuplicateMatch(customer_id=i, score=s) for i, s in n.matches],
            )
            for n in notes
            if n.kind == "duplicate"
        ],
        created_at=record.created_at,
        finished_at=record.finished_at,
    )
