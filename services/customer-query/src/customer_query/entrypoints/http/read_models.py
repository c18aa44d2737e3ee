"""The read models' replay state (admin): which generation serves, how far it has applied the
log, and a rebuild `customerhub replay` is running (or left unfinished), with how far it got.

Read from where the replay keeps it: the read store's generations and each generation's
checkpoint, against the event log's head."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from customer_query.entrypoints.http.service import Service
from customerhub_shared.http.auth import AdminUser
from customerhub_shared.projection import checkpoint_name, stream_pass_name
from customerhub_shared.readstore import ReadStore

router = APIRouter(prefix="/v1/admin/read-models", tags=["operations"])


class Generation(BaseModel):
    generation: int
    position: int | None = Field(description="The last log position it applied; null: none yet")
    behind: int | None = Field(
        description="Log positions between it and the head (events, where positions are dense)"
    )
    progress: float | None = Field(
        description="Its position over the head's, 0 to 1 (a rebuild folding stream after "
        "stream, which has no position until it ends: the events it folded over the head's); "
        "null while the log is empty"
    )


class ReadModelState(BaseModel):
    name: str
    active: Generation = Field(description="The generation that answers queries")
    rebuilding: Generation | None = Field(
        description="The generation a replay is building (or left unfinished: a replay run "
        "again resumes it); null when none is"
    )


class ReadModels(BaseModel):
    head: int | None = Field(description="The event log's last position; null when empty")
    read_models: list[ReadModelState]


@router.get(
    "",
    summary="Each read model's active generation, position and rebuild in progress (admin)",
    response_model=ReadModels,
)
async def list_read_models(service: Service, _admin: AdminUser) -> ReadModels:
    head = await service.head() if service.head is not None else None
    states = [await _state(service.read_store, name, head) for name in service.read_models]
    return ReadModels(head=head, read_models=states)


async def _state(store: ReadStore, name: str, head: int | None) -> ReadModelState:
    active, building = await store.generations(name)
    return ReadModelState(
        name=name,
        active=await _generation(store, name, active, head),
        rebuilding=None if building is None else await _generation(store, name, building, head),
    )


async def _generation(store: ReadStore, name: str, generation: int, head: int | None) -> Generation:
    position = await store.checkpoint(checkpoint_name(name, generation))
    if not head:
        return Generation(generation=generation, position=position, behind=None, progress=None)
    folded = None if position else await store.checkpoint(stream_pass_name(name, generation))
    return Generation(
        generation=generation,
        position=position,
        behind=max(head - (position or 0), 0),
        progress=min((position or folded or 0) / head, 1.0),
    )
