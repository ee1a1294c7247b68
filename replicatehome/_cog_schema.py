"""A catalog model's ``Input`` schema in Cog's shape, generated from its pydantic model.

The emulator serves it in the ``openapi_schema`` of a model's version, so what clients read there
is what the SDK and the emulator validate with (`replicatehome.inputs`); the command line reads
it to parse ``--input`` values and to print a model's inputs. Cog writes the schema its own way,
and pydantic's JSON schema is reshaped to match:

- every property gets ``x-order``, its field's position;
- an optional field (``seed: int | None = None``) is its type alone, without a default;
- an enum is ``allOf`` a reference to a schema of its own in ``components.schemas``, named after
  the field, and the property has no title;
- file fields are ``{"type": "string", "format": "uri"}`` already (see ``inputs.py``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, cast

from .inputs import CatalogInput

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["cog_input_schemas"]

_NULL: dict[str, JsonValue] = {"type": "null"}


@functools.cache
def cog_input_schemas(model: type[CatalogInput]) -> dict[str, JsonValue]:
    """The ``components.schemas`` entries of `model`: ``Input``, and one per enum field.

    Cached: the answer never changes. Callers must not modify it.
    """
    generated = cast("dict[str, JsonValue]", model.model_json_schema())
    raw = cast("dict[str, dict[str, JsonValue]]", generated["properties"])
    properties: dict[str, JsonValue] = {}
    schemas: dict[str, JsonValue] = {}
    for order, name in enumerate(model.model_fields):
        field = dict(raw[name])
        choices = field.pop("anyOf", None)
        if isinstance(choices, list):
            [kind] = [choice for choice in choices if choice != _NULL]
            field.update(cast("dict[str, JsonValue]", kind))
        if "default" in field and field["default"] is None:
            del field["default"]
        if "enum" in field:
            schemas[name] = {
                "enum": field.pop("enum"),
                "type": field.pop("type"),
                "title": name,
                "description": "An enumeration.",
            }
            del field["title"]
            field["allOf"] = [{"$ref": f"#/components/schemas/{name}"}]
        field["x-order"] = order
        properties[name] = field
    return {"Input": {"type": "object", "title": "Input", "properties": properties}, **schemas}
