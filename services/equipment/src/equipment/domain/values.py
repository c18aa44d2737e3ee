"""What a client may say about an item: validated, normalised values (pydantic)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, HttpUrl, StringConstraints, model_validator

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]
ImageUrl = Annotated[HttpUrl, StringConstraints(max_length=2000)]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def event_fields(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The named fields as an event carries them (URLs as text)."""
        values = {name: getattr(self, name) for name in names}
        return {name: None if v is None else str(v) for name, v in values.items()}


class NewEquipment(_Value):
    """An item to register: its name, and what the nameplate says (seeds: brand, model, …)."""

    name: Text
    type: Text | None = None
    brand: Text | None = None
    model: Text | None = None
    reference: Text | None = None
    serial_number: Text | None = None
    image_url: ImageUrl | None = None
    business_unit: Text | None = None
    description: Description | None = None


class EquipmentPatch(_Value):
    """The fields to change; null clears one (but an item always keeps a name)."""

    name: Text | None = None
    type: Text | None = None
    brand: Text | None = None
    model: Text | None = None
    reference: Text | None = None
    serial_number: Text | None = None
    image_url: ImageUrl | None = None
    business_unit: Text | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _says_something(self) -> EquipmentPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("an item's name cannot be cleared")
        return self
