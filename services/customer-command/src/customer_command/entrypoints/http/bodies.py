"""Request bodies that are not domain values of their own."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from customerhub_shared.events.customer import CustomerRole

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleBody(_Body):
    role: CustomerRole


class ArchiveBody(_Body):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class MergeBody(_Body):
    duplicate_ids: Annotated[list[UUID], Field(min_length=1, max_length=50)]


class DocumentBody(_Body):
    document_id: Text
    document_type: Text
