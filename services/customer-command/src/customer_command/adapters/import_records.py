"""Turning an import record into stored columns and back, for every import-store adapter."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from customer_command.application.imports.ports import (
    ImportRecord,
    RowNote,
    options_from,
    options_json,
)

RECORD_COLUMNS = (
    "import_id, file_name, file_hash, actor, options, created_at, status, total_rows,"
    " next_row, counts, finished_at, failure"
)


def record_row(record: ImportRecord) -> tuple[Any, ...]:
    return (
        str(record.import_id),
        record.file_name,
        record.file_hash,
        record.actor,
        json.dumps(options_json(record.options)),
        record.created_at.isoformat(),
        record.status,
        record.total_rows,
        record.next_row,
        json.dumps(record.counts),
        record.finished_at.isoformat() if record.finished_at else None,
        record.failure,
    )


def record_from(row: tuple[Any, ...]) -> ImportRecord:
    return ImportRecord(
        import_id=UUID(str(row[0])),
        file_name=row[1],
        file_hash=row[2],
        actor=row[3],
        options=options_from(json.loads(row[4])),
        created_at=datetime.fromisoformat(row[5]),
        status=row[6],
        total_rows=row[7],
        next_row=int(row[8]),
        counts=json.loads(row[9]),
        finished_at=datetime.fromisoformat(row[10]) if row[10] else None,
        failure=row[11],
    )


def note_row(import_id: UUID, note: RowNote) -> tuple[Any, ...]:
    matches = json.dumps([list(match) for match in note.matches])
    return (str(import_id), note.row, note.kind, note.field, note.message, matches)


def note_from(row: tuple[Any, ...]) -> RowNote:
    matches = tuple((str(customer_id), float(score)) for customer_id, score in json.loads(row[4]))
    return RowNote(row=int(row[0]), kind=row[1], field=row[2], message=row[3], matches=matches)
