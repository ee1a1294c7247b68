"""docs/inputs.md's tables are the input models' fields, so the page cannot drift from them.

When a model changes, print the tables anew and paste them in:
``uv run python -m tests.unit.test_inputs_page``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from replicatehome.catalog import find
from replicatehome.inputs import INPUT_MODELS, CatalogInput

PAGE = Path(__file__).parent.parent.parent / "docs" / "inputs.md"
_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


def _type(schema: dict[str, object]) -> tuple[str, dict[str, object]]:
    """The field's type in Python's words, and the schema of its value when it is not None."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        [value] = [option for option in options if option != {"type": "null"}]
        name, _ = _type(value)
        return f"{name} \\| None", value
    if schema.get("format") == "uri":
        return "file", schema
    return _TYPES[str(schema["type"])], schema


def _allowed(value: dict[str, object]) -> str:
    enum = value.get("enum")
    if isinstance(enum, list):
        return ", ".join(f"`{item!r}`" for item in enum)
    if value.get("format") == "uri":
        return "a URL or `data:` URI, a `Path`, bytes or a binary file"
    if value.get("type") == "boolean":
        return "`True`, `False`"
    low, high = value.get("minimum"), value.get("maximum")
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"{low} or more"
    if high is not None:
        return f"{high} or less"
    return "any"


def table(model: type[CatalogInput]) -> str:
    """The Markdown table of `model`'s inputs: name, type, default, allowed, description."""
    rows = [
        "| input | type | default | allowed | description |",
        "|---|---|---|---|---|",
    ]
    for name, schema in model.model_json_schema()["properties"].items():
        kind, value = _type(schema)
        default = repr(model.model_fields[name].default)
        description = str(schema.get("description", "")).replace("|", "\\|")
        rows.append(f"| `{name}` | {kind} | `{default}` | {_allowed(value)} | {description} |")
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("name", list(INPUT_MODELS))
def test_the_page_shows_each_models_inputs_as_the_sdk_checks_them(name: str) -> None:
    page = PAGE.read_text()
    spec = find(name)
    assert spec is not None
    section = page.partition(f"\n## {spec.short_name}\n")[2].partition("\n## ")[0]
    expected = table(INPUT_MODELS[name])
    assert expected in section, f"docs/inputs.md, {name}, should have:\n{expected}"


if __name__ == "__main__":
    for name, model in INPUT_MODELS.items():
        print(f"{name}\n\n{table(model)}")
