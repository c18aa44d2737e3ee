"""`customerhub import FILE [--dry-run]`: the import of `POST /v1/imports`, from the shell,
with a progress bar. Killed and run again on the same file, it resumes where it stopped."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

import customer_command.bootstrap as customer_command
import customer_query.bootstrap as customer_query
from customer_command.adapters.spreadsheets import UnreadableSheet
from customer_command.application.imports.ports import ImportOptions, ImportRecord, RowNote
from customer_command.application.imports.rows import InvalidMapping
from customerhub.directory import ReadModelDirectory
from customerhub_shared.infrastructure import open_infrastructure, open_read_store
from customerhub_shared.logging import configure_logging
from customerhub_shared.projection import projectors_following
from customerhub_shared.settings import Settings, load_settings

NOTES_SHOWN = 20


def run(
    file: Path, *, dry_run: bool, create_duplicates: bool, mapping: str | None, actor: str
) -> int:
    """`customerhub import`: the exit code (0 done, 1 not completed, 2 refused)."""
    try:
        options = ImportOptions(
            dry_run=dry_run,
            create_duplicates=create_duplicates,
            mapping=json.loads(mapping) if mapping else {},
        )
        content = file.read_bytes()
        record, notes = asyncio.run(
            import_file(load_settings(), content, file.name, options, actor=actor)
        )
    except (OSError, ValueError, UnreadableSheet, InvalidMapping) as refused:
        sys.stderr.write(f"customerhub import: {refused}\n")
        return 2
    counts = ", ".join(f"{name} {count}" for name, count in record.counts.items())
    sys.stderr.write(f"customerhub import: {record.import_id} {record.status}: {counts}\n")
    for note in notes:
        where = f"row {note.row}" + (f", {note.field}" if note.field else "")
        matches = ", ".join(f"{customer_id} ({score})" for customer_id, score in note.matches)
        sys.stderr.write(f"  {where}: {note.message}{' — ' + matches if matches else ''}\n")
    return 0 if record.status == "completed" else 1


async def import_file(
    settings: Settings, content: bytes, file_name: str, options: ImportOptions, *, actor: str
) -> tuple[ImportRecord, list[RowNote]]:
    """Import beside (or without) a running server: same stores, same commands; the customers
    projector follows along so that rows are matched against fresh customers."""
    configure_logging(settings.log_level, settings.log_format)
    infra = await open_infrastructure(settings)
    read_store = await open_read_store(settings)
    store = await customer_command.open_import_store(settings)
    try:
        commands = customer_command.build_command_service(infra, settings)
        queries = customer_query.build_query_service(infra, read_store, settings)
        runner = customer_command.import_runner(commands, store, ReadModelDirectory(queries))
        record = await runner.submit(content, file_name=file_name, actor=actor, options=options)
        events, batch = infra.event_store, settings.projector_batch_size
        async with projectors_following([queries.projector], events, batch_size=batch):
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=None,
            ) as bar:
                task = bar.add_task(file_name, total=None)

                def show(current: ImportRecord) -> None:
                    done = sum(current.counts.values())
                    bar.update(task, completed=done, total=current.total_rows)

                finished = await runner.finish(record.import_id, show)
        return finished, await store.notes(record.import_id, limit=NOTES_SHOWN)
    finally:
        await store.close()
        await read_store.close()
        await infra.close()
