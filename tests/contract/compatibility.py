"""Backward compatibility of published event schemas: what a new schema may not do to an old one.

An event type is a promise to every consumer and to every event already stored (old events
are never rewritten). So, for a type name that exists in both, the new schema must still
accept every old event and must not surprise an old consumer:

- a field may not disappear, change its type, or become required (optional → required, or a
  new required field);
- an enum may not lose a value (nor may a free string become an enum);
- a field may not move in or out of the sealed `_personal` part (x-personal);
- an event type may not disappear.

Adding an optional field, a new enum value or a new event type is compatible. Anything else
needs a new version of the type (`….v2`) and an upcaster from the old one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Schema = Mapping[str, Any]


def breaking_changes(old: Mapping[str, Schema], new: Mapping[str, Schema]) -> list[str]:
    """Every incompatibility between two `{type: JSON Schema}` maps, as readable sentences."""
    problems: list[str] = []
    for type_name, old_schema in old.items():
        if type_name not in new:
            problems.append(f"{type_name}: the event type was removed (stored events keep it)")
            continue
        problems.extend(
            _compare(
                old_schema,
                new[type_name],
                old_root=old_schema,
                new_root=new[type_name],
                path=type_name,
            )
        )
    return problems


def _compare(
    old: Schema, new: Schema, *, old_root: Schema, new_root: Schema, path: str
) -> list[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    problems: list[str] = []
    if bool(old.get("x-personal")) != bool(new.get("x-personal")):
        where = "into" if new.get("x-personal") else "out of"
        problems.append(f"{path}: moved {where} the sealed `_personal` data")
    old_variants, new_variants = _variants(old, old_root), _variants(new, new_root)
    old_kinds, new_kinds = set(old_variants), set(new_variants)
    if old_kinds != new_kinds:
        problems.append(f"{path}: type changed from {_kinds(old_kinds)} to {_kinds(new_kinds)}")
    for kind in sorted(old_kinds & new_kinds):
        before, after = old_variants[kind], new_variants[kind]
        problems.extend(_compare_enums(before, after, path))
        if kind == "object":
            problems.extend(_compare_objects(before, after, old_root, new_root, path))
        elif kind == "array":
            problems.extend(_compare_arrays(before, after, old_root, new_root, path))
    return problems


def _compare_objects(
    old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str
) -> list[str]:
    problems: list[str] = []
    old_props: Mapping[str, Schema] = old.get("properties", {})
    new_props: Mapping[str, Schema] = new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: the field was removed")
            continue
        problems.extend(
            _compare(
                old_prop,
                new_props[name],
                old_root=old_root,
                new_root=new_root,
                path=f"{path}.{name}",
            )
        )
    newly_required = set(new.get("required", ())) - set(old.get("required", ()))
    for name in sorted(newly_required):
        was = "an optional field" if name in old_props else "a new field"
        problems.append(f"{path}.{name}: {was} became required")
    old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
    if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
        problems.extend(
            _compare(old_extra, new_extra, old_root=old_root, new_root=new_root, path=f"{path}[*]")
        )
    elif old_extra not in (None, False) and new_extra in (None, False) and not new_props:
        problems.append(f"{path}: no longer accepts its free-form entries")
    return problems


def _compare_arrays(
    old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str
) -> list[str]:
    old_tuple, new_tuple = old.get("prefixItems"), new.get("prefixItems")
    if old_tuple is not None or new_tuple is not None:
        if old_tuple is None or new_tuple is None or len(old_tuple) != len(new_tuple):
            return [f"{path}: the tuple's shape changed"]
        problems: list[str] = []
        for index, (before, after) in enumerate(zip(old_tuple, new_tuple, strict=True)):
            problems.extend(
                _compare(
                    before, after, old_root=old_root, new_root=new_root, path=f"{path}[{index}]"
                )
            )
        return problems
    old_items, new_items = old.get("items"), new.get("items")
    if isinstance(old_items, Mapping) and isinstance(new_items, Mapping):
        return _compare(
            old_items, new_items, old_root=old_root, new_root=new_root, path=f"{path}[]"
        )
    return []


def _compare_enums(old: Schema, new: Schema, path: str) -> list[str]:
    old_values, new_values = _enum(old), _enum(new)
    if new_values is None:
        return []
    if old_values is None:
        return [f"{path}: a free value became an enumeration {sorted(new_values, key=str)}"]
    lost = old_values - new_values
    return [f"{path}: enum value {value!r} was removed" for value in sorted(lost, key=str)]


def _enum(schema: Schema) -> set[Any] | None:
    if "const" in schema:
        return {schema["const"]}
    if "enum" in schema:
        return set(schema["enum"])
    return None


def _variants(schema: Schema, root: Schema) -> dict[str, Schema]:
    """The schema's alternatives by JSON type (`anyOf`/`oneOf` flattened, `$ref`s resolved)."""
    schema = _resolve(schema, root)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        variants: dict[str, Schema] = {}
        for alternative in alternatives:
            variants.update(_variants(alternative, root))
        return variants
    kinds = schema.get("type")
    if kinds is None:
        if "const" in schema or "enum" in schema:
            values = [schema["const"]] if "const" in schema else list(schema["enum"])
            kinds = sorted({_json_type(value) for value in values})
        elif "properties" in schema:
            kinds = "object"
        else:
            return {"any": schema}
    if isinstance(kinds, str):
        kinds = [kinds]
    return dict.fromkeys(kinds, schema)


def _resolve(schema: Schema, root: Schema) -> Schema:
    seen = 0
    while "$ref" in schema:
        reference: str = schema["$ref"]
        if not reference.startswith("#/"):
            raise ValueError(f"cannot follow {reference}: only local references are resolved")
        target: Any = root
        for part in reference[2:].split("/"):
            target = target[part]
        extra = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**target, **extra}
        seen += 1
        if seen > 50:
            raise ValueError(f"{reference}: reference cycle")
    return schema


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _kinds(kinds: set[str]) -> str:
    return " | ".join(sorted(kinds)) or "nothing"
