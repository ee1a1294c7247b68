"""The command line's model inputs: ``--input KEY=VALUE`` read by the model's schema, checked
before any request, and ``models --schema NAME``'s table of a model's inputs.

Both read a catalog model's ``Input`` schema in Cog's shape, the one the emulator serves
(``_cog_schema.py``), generated from the pydantic models `check_input` validates with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

from .._cog_schema import cog_input_schemas
from ..inputs import INPUT_MODELS, check_input
from ._usage import UsageError

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["SchemaField", "model_inputs", "parse_inputs", "schema_fields"]

_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})
_URL_PREFIXES: Final = ("http://", "https://", "data:")


@dataclass(frozen=True, slots=True)
class SchemaField:
    """One input of a model, as its schema describes it: its name, its property in ``Input``,
    and its enum's members, if it has one."""

    name: str
    schema: Mapping[str, JsonValue]
    enum: list[JsonValue]

    @property
    def kind(self) -> str:
        """``integer``, ``number``, ``boolean``, ``string``, ``enum`` or ``file``."""
        if self.enum:
            return "enum"
        if self.schema.get("format") == "uri":
            return "file"
        return str(self.schema.get("type", "string"))

    @property
    def default(self) -> str:
        """The default as JSON, or nothing for a field without one."""
        return json.dumps(self.schema["default"]) if "default" in self.schema else ""

    @property
    def allowed(self) -> str:
        """The enum's members, the bounds, or what a file takes; nothing for a free value."""
        if self.enum:
            return ", ".join(map(str, self.enum))
        if self.kind == "file":
            return "a URL, a data: URI or a local path"
        low, high = self.schema.get("minimum"), self.schema.get("maximum")
        if low is not None and high is not None:
            return f"{low} to {high}"
        if low is not None:
            return f">= {low}"
        if high is not None:
            return f"<= {high}"
        return ""

    def parse(self, text: str) -> object:
        """`text` as this field's type; as given when it is not one, for `check_input` to say
        what is wrong with it."""
        kind = self.kind
        try:
            if kind == "integer":
                return int(text)
            if kind == "number":
                return float(text)
        except ValueError:
            return text
        if kind == "boolean":
            lowered = text.lower()
            return True if lowered in _TRUE else False if lowered in _FALSE else text
        if kind == "file" and not text.startswith(_URL_PREFIXES):
            return Path(text)
        return text


def schema_fields(model: str) -> list[SchemaField] | None:
    """The inputs of catalog `model` (its full ``owner/name``), in order; ``None`` without a
    schema."""
    input_model = INPUT_MODELS.get(model)
    if input_model is None:
        return None
    schemas = cog_input_schemas(input_model)
    properties = cast(
        "dict[str, dict[str, JsonValue]]",
        cast("dict[str, JsonValue]", schemas["Input"])["properties"],
    )
    fields = []
    for name, prop in properties.items():
        enum: list[JsonValue] = []
        if "allOf" in prop:
            enum = cast("list[JsonValue]", cast("dict[str, JsonValue]", schemas[name])["enum"])
        fields.append(SchemaField(name, prop, enum))
    return fields


def _json_or_text(text: str) -> object:
    try:
        value: object = json.loads(text)
    except ValueError:
        return text
    return value


def parse_inputs(pairs: list[str], model: str | None) -> dict[str, object]:
    """``KEY=VALUE`` pairs as an input: each VALUE read by its field's type in catalog `model`'s
    schema, as JSON when it parses for other fields and models, else as a string."""
    fields = {field.name: field for field in schema_fields(model or "") or ()}
    inputs: dict[str, object] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals or not key:
            raise UsageError(f"--input takes KEY=VALUE, not {pair!r}")
        field = fields.get(key)
        inputs[key] = _json_or_text(text) if field is None else field.parse(text)
    return inputs


def model_inputs(model: str | None, prompt: str, pairs: list[str]) -> dict[str, object]:
    """The input for catalog `model` (or another, ``None``), checked against its schema.

    Raises:
        InputValidationError: every problem, in the SDK's words, before any request.
    """
    inputs = {"prompt": prompt, **parse_inputs(pairs, model)}
    if model is not None:
        check_input(model, inputs)
    return inputs
