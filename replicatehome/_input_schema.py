"""Checking an input against the schema a model publishes: a small subset of JSON Schema.

A Cog model describes its input in ``components.schemas.Input`` of its version's OpenAPI schema.
`check_against` checks the keywords those schemas use: ``type``, ``enum``, ``allOf`` and
``$ref`` to ``#/components/schemas/...``, ``minimum``/``maximum``, ``format: uri`` (which takes
the SDK's file values too: a path, bytes, a binary file object), ``required``, and input names
the schema does not know, with a "did you mean".

Not the ``jsonschema`` package: for seven keywords it brings four more packages (attrs,
referencing, rpds-py, a Rust extension, and jsonschema-specifications) and about 190 ms of
import (jsonschema 4.26, measured with ``-X importtime``; this module costs a few ms), and it
would run everything a server's schema says, ``pattern`` regular expressions that can backtrack
for minutes included.

The schema comes from the server, so it is untrusted. What this checker does not understand
(another keyword, a ``$ref`` elsewhere, a node that is not an object, nesting deeper than
`MAX_DEPTH`, more work than `MAX_STEPS`) accepts the value: a strange schema can at worst let a
bad input through to the server, which checks it again. It never hangs, and raises nothing but
`InputValidationError`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from typing import Final, TypeGuard

from .errors import InputProblem, InputValidationError

__all__ = ["MAX_DEPTH", "MAX_STEPS", "check_against", "input_schema_of"]

MAX_DEPTH: Final = 16
"""How many schemas deep (``$ref``, ``allOf``, ``items``) a check follows: Cog needs three."""
MAX_STEPS: Final = 100_000
"""How many schema nodes and enum values one check looks at, at most: about 50 ms of work."""
_HINTS: Final = 1_000
"""Past this many input names, no "did you mean": difflib compares with each of them."""
_SHOWN: Final = 10
"""How many allowed values or names a message lists."""
_REF: Final = "#/components/schemas/"
_URL: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def input_schema_of(openapi: Mapping[str, object] | None) -> dict[str, object] | None:
    """The ``components.schemas.Input`` of a version's OpenAPI schema, if it has one."""
    components = openapi.get("components") if openapi is not None else None
    schemas = components.get("schemas") if isinstance(components, dict) else None
    found = schemas.get("Input") if isinstance(schemas, dict) else None
    return found if isinstance(found, dict) else None


def check_against(
    openapi: Mapping[str, object] | None, model: str, given: Mapping[str, object]
) -> None:
    """Check `given`, the input of `model`, against the ``Input`` of its OpenAPI schema.

    Without an ``Input`` schema, every input passes.

    Raises:
        InputValidationError: every problem found, before any request.
    """
    schema = input_schema_of(openapi)
    if schema is None:
        return
    assert openapi is not None
    components = openapi.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    checker = _Checker(schemas if isinstance(schemas, dict) else {})
    checker.check_object(given, schema)
    if checker.problems:
        raise InputValidationError(model, tuple(checker.problems))


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: object) -> bool:
    return _is_number(value) and (isinstance(value, int) or math.isfinite(value))


def _is_file(value: object) -> bool:
    # As `_file_inputs` finds files: what it would upload or inline in the string's place.
    return isinstance(value, os.PathLike | bytes | bytearray | memoryview) or callable(
        getattr(value, "read", None)
    )


_TYPES: Final[dict[str, tuple[str, Callable[[object], bool]]]] = {
    "string": ("a valid string", lambda v: isinstance(v, str)),
    "integer": ("a valid integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "number": ("a valid number", _is_finite),
    "boolean": ("a valid boolean", lambda v: isinstance(v, bool)),
    "array": ("a valid list", lambda v: isinstance(v, list | tuple)),
    "object": ("a valid dictionary", lambda v: isinstance(v, Mapping)),
}


def _has_default(node: object) -> bool:
    return isinstance(node, dict) and node.get("default") is not None


def _same(a: object, b: object) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)  # True is not 1 in JSON


def _show(value: object) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int past sys.get_int_max_str_digits()
        return "a number too long to show"
    return text if len(text) <= 100 else f"{text[:100]}..."


def _name(value: object) -> str:
    return str(value)[:100]


def _listed(values: list[object], show: Callable[[object], str] = _show) -> str:
    words = [show(value) for value in values[:_SHOWN]]
    if len(values) > _SHOWN:
        return f"{', '.join(words)}, ... ({len(values):,} in all)"
    if not words:
        return "nothing: the schema allows no value"
    return f"{', '.join(words[:-1])} or {words[-1]}" if len(words) > 1 else words[0]


class _Checker:
    def __init__(self, schemas: dict[str, object]) -> None:
        self.schemas = schemas
        self.problems: list[InputProblem] = []
        self.steps = MAX_STEPS

    def fail(self, field: str, given: object, allowed: str, message: str = "") -> None:
        self.problems.append(
            InputProblem(field, given, allowed, message or f"Input should be {allowed}")
        )

    def check_object(self, given: Mapping[str, object], schema: dict[str, object]) -> None:
        listed = schema.get("required")
        required = (
            {n for n in listed[:MAX_STEPS] if isinstance(n, str)}
            if isinstance(listed, list)
            else set()
        )
        for name in sorted(required - given.keys()):
            self.fail(name[:100], None, "a value", "Field required")
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return
        known = list(properties)
        for name, value in given.items():
            node = properties.get(name)
            if name not in properties:
                allowed = f"one of {_listed(known, _name)}"
                self.problems.append(
                    InputProblem.unknown(str(name), value, known[:_HINTS], allowed)
                )
            # None stands for "not given" where the schema has no default to lose.
            elif value is not None or name in required or _has_default(node):
                self.check(value, node, str(name), 1)

    def check(self, value: object, node: object, field: str, depth: int) -> None:
        self.steps -= 1
        if depth > MAX_DEPTH or self.steps < 0 or not isinstance(node, dict):
            return  # not understood: accepted
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            self.check(value, self.schemas.get(ref.removeprefix(_REF)), field, depth + 1)
        all_of = node.get("allOf")
        for part in all_of if isinstance(all_of, list) else ():
            self.check(value, part, field, depth + 1)
        if self.fits(value, node, field) and isinstance(value, list | tuple):
            for index, item in enumerate(value):
                self.check(item, node.get("items"), f"{field}.{index}", depth + 1)

    def fits(self, value: object, node: dict[str, object], field: str) -> bool:
        kind = _TYPES.get(str(node.get("type")))
        if node.get("format") == "uri" and node.get("type", "string") == "string":
            if isinstance(value, str) and not _URL.match(value):
                self.fail(field, value, "a URL or a data: URI; for a local file, pass a Path")
                return False
            if isinstance(value, str) or _is_file(value):
                return True
            self.fail(field, value, "a URL, a data: URI, a path, bytes or a binary file")
            return False
        if kind is not None and not kind[1](value):
            self.fail(field, value, kind[0])
            return False
        enum = node.get("enum")
        if isinstance(enum, list) and len(enum) <= self.steps:
            self.steps -= len(enum)
            if not any(_same(value, option) for option in enum):
                self.fail(field, value, _listed(enum))
                return False
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, high = node.get("minimum"), node.get("maximum")
            if _is_number(low) and value < low:
                self.fail(field, value, f"greater than or equal to {_show(low)}")
                return False
            if _is_number(high) and value > high:
                self.fail(field, value, f"less than or equal to {_show(high)}")
                return False
        return True
