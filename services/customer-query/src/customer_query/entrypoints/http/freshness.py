"""The `min_position` every query accepts: answer only once the read model has reached it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query

from customer_query.application.errors import QueryRefused, ReadModelBehind
from customer_query.application.freshness import wait_for_position
from customer_query.entrypoints.http.problems import problem_for
from customer_query.entrypoints.http.service import Service
from customerhub_shared.http.auth import CurrentUser
from customerhub_shared.http.headers import POSITION_PATTERN
from customerhub_shared.http.problems import PROBLEM_TYPES, Problem

_MAX_POSITION = 2**63 - 1


async def read_model_position(
    service: Service,
    _user: CurrentUser,
    min_position: Annotated[
        int | None,
        Query(ge=0, le=_MAX_POSITION, description="Answer once the read model reached this"),
    ] = None,
    x_min_position: Annotated[
        str | None,
        Header(
            description="Same as min_position, e.g. a command's `position`",
            json_schema_extra={"pattern": POSITION_PATTERN},
        ),
    ] = None,
) -> int:
    """The position the answer reflects at least; waits up to the freshness timeout.

    Authenticates first, so an anonymous caller cannot make the service wait.
    """
    wanted = _wanted(min_position, x_min_position)
    try:
        return await wait_for_position(
            service.position,
            wanted,
            timeout=service.freshness_timeout,
            head=service.head,
            progressed=service.progressed,
        )
    except ReadModelBehind as behind:
        raise problem_for(behind, behind.reached) from behind
    except QueryRefused as refused:
        raise problem_for(refused, await service.position() or 0) from refused


def _wanted(min_position: int | None, header: str | None) -> int | None:
    candidates = [min_position] if min_position is not None else []
    if header is not None:
        candidates.append(_parse_header(header))
    return max(candidates, default=None)


def _parse_header(value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or int(text) > _MAX_POSITION:
        raise Problem(
            400,
            "Bad X-Min-Position header",
            detail="X-Min-Position must be a non-negative integer log position",
            type=PROBLEM_TYPES + "bad-min-position",
        )
    return int(text)


ReadPosition = Annotated[int, Depends(read_model_position)]
