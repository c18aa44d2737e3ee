"""`GET /v1/customers/export`: the list's matches as CSV or XLSX, streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from customer_query.application.export import COLUMNS, Cell, export_pages
from customer_query.application.queries import CustomerSearch, ReadModel
from customer_query.entrypoints.http.customers import (
    LIST_PARAMETERS,
    ListFilters,
    known_parameters,
)
from customer_query.entrypoints.http.freshness import ReadPosition
from customer_query.entrypoints.http.problems import position_headers
from customer_query.entrypoints.http.service import Service
from customer_query.entrypoints.http.xlsx_stream import XlsxStream
from customerhub_shared.http.auth import CurrentUser
from customerhub_shared.http.openapi import problem_responses

# Before the customers router: `/export` must not be read as a customer id.
router = APIRouter(prefix="/v1/customers", tags=["customers"])

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_PARAMETERS = (LIST_PARAMETERS - {"cursor", "limit"}) | {"format"}


@router.get(
    "/export",
    summary="Every customer the list's filters match, as CSV or XLSX",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One row per customer, main contact and main location flattened",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
            "headers": {"X-Read-Model-Position": {"schema": {"type": "integer"}}},
        },
        **problem_responses(400, 503, s400="An invalid X-Min-Position"),
    },
    dependencies=[Depends(known_parameters(EXPORT_PARAMETERS))],
)
async def export_customers(
    service: Service,
    position: ReadPosition,
    _user: CurrentUser,
    search: ListFilters,
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")] = "csv",
) -> StreamingResponse:
    read_model = await service.read_model()
    headers = {
        **position_headers(position),
        "Content-Disposition": f'attachment; filename="customers.{format}"',
    }
    if format == "xlsx":
        return StreamingResponse(_xlsx(read_model, search), media_type=XLSX_TYPE, headers=headers)
    return StreamingResponse(_csv(read_model, search), media_type=CSV_TYPE, headers=headers)


async def _csv(read_model: ReadModel, search: CustomerSearch) -> AsyncIterator[bytes]:
    # A byte order mark, so that Excel reads the accents right.
    yield "\ufeff".encode() + _csv_lines([COLUMNS])
    async for rows in export_pages(read_model, search):
        yield _csv_lines(rows)


def _csv_lines(rows: Sequence[Sequence[Cell]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
    return buffer.getvalue().encode()


async def _xlsx(read_model: ReadModel, search: CustomerSearch) -> AsyncIterator[bytes]:
    """Written as it is sent, page by page (`XlsxStream`): no file on disk."""
    workbook = XlsxStream("customers", COLUMNS)
    async for rows in export_pages(read_model, search):
        if chunk := workbook.rows(rows):
            yield chunk
    yield workbook.close()
