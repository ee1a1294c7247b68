"""The JSON-Schema subset that checks inputs against a published Cog schema, and its cache.

Plain values in and out (no client, no I/O): each keyword, the messages, and hostile schemas
that must neither hang nor crash. Through both clients, see test_validate_input.py.
"""

from __future__ import annotations

import contextlib
import copy
import io
import time
from pathlib import Path

import pytest

from replicatehome import InputProblem, InputValidationError
from replicatehome._input_schema import MAX_DEPTH, MAX_STEPS, check_against
from replicatehome._schema_cache import SchemaCache

INPUT: dict[str, object] = {
    "type": "object",
    "title": "Input",
    "required": ["prompt"],
    "properties": {
        "prompt": {"type": "string", "title": "Prompt", "x-order": 0},
        "steps": {"type": "integer", "minimum": 1, "maximum": 50, "default": 28},
        "guidance": {"type": "number", "minimum": 0, "maximum": 20, "default": 3.5},
        "safe": {"type": "boolean", "default": True},
        "tags": {"type": "array", "items": {"type": "string"}},
        "image": {"type": "string", "format": "uri"},
        "images": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "options": {"type": "object"},
        "mode": {"allOf": [{"$ref": "#/components/schemas/mode"}], "default": "fast"},
        "seed": {"type": "integer", "title": "Seed"},
    },
}
"""A Cog ``Input`` that uses every keyword the checker knows, the way Cog writes them."""


def cog_schema(input: object = None, **schemas: object) -> dict[str, object]:
    """A version's OpenAPI schema, as Cog publishes it, with `input` (`INPUT` by default)."""
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": {},
        "components": {
            "schemas": {
                "Input": copy.deepcopy(INPUT) if input is None else input,
                "Output": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "mode": {"enum": ["fast", "slow"], "type": "string", "title": "mode"},
                **schemas,
            }
        },
    }


VALID = [
    {"prompt": "hi"},
    {"prompt": "", "steps": 1, "guidance": 0, "safe": False},
    {"prompt": "hi", "steps": 50, "guidance": 20.0, "seed": 10**30},
    {"prompt": "hi", "guidance": 3, "tags": ["a", "b"]},
    {"prompt": "hi", "image": "https://example.com/a.png"},
    {"prompt": "hi", "image": "data:image/png;base64,iVBORw0KGgo="},
    {"prompt": "hi", "image": Path("photo.png")},
    {"prompt": "hi", "image": b"\x89PNG"},
    {"prompt": "hi", "image": bytearray(b"x"), "images": [memoryview(b"y")]},
    {"prompt": "hi", "image": io.BytesIO(b"x")},
    {"prompt": "hi", "images": (Path("a.png"), "https://example.com/b.png")},
    {"prompt": "hi", "options": {"a": [1]}, "mode": "slow", "seed": None},
]


@pytest.mark.parametrize("given", VALID)
def test_inputs_that_fit_pass(given: dict[str, object]) -> None:
    check_against(cog_schema(), "someone/painter", given)


INVALID: list[tuple[dict[str, object], str, str]] = [
    ({}, "prompt", "Field required"),
    ({"prompt": None}, "prompt", "Input should be a valid string"),
    ({"prompt": 3}, "prompt", "Input should be a valid string"),
    ({"prompt": "x", "steps": 0}, "steps", "Input should be greater than or equal to 1"),
    ({"prompt": "x", "steps": 51}, "steps", "Input should be less than or equal to 50"),
    ({"prompt": "x", "steps": 2.0}, "steps", "Input should be a valid integer"),
    ({"prompt": "x", "steps": True}, "steps", "Input should be a valid integer"),
    ({"prompt": "x", "steps": None}, "steps", "Input should be a valid integer"),
    ({"prompt": "x", "guidance": "3"}, "guidance", "Input should be a valid number"),
    ({"prompt": "x", "guidance": float("nan")}, "guidance", "Input should be a valid number"),
    ({"prompt": "x", "guidance": -0.5}, "guidance", "greater than or equal to 0"),
    ({"prompt": "x", "safe": "yes"}, "safe", "Input should be a valid boolean"),
    ({"prompt": "x", "safe": 1}, "safe", "Input should be a valid boolean"),
    ({"prompt": "x", "tags": "a"}, "tags", "Input should be a valid list"),
    ({"prompt": "x", "tags": ["a", 1]}, "tags.1", "Input should be a valid string"),
    ({"prompt": "x", "image": "photo.png"}, "image", "for a local file, pass a Path"),
    ({"prompt": "x", "image": 3}, "image", "a URL, a data: URI, a path, bytes or a binary"),
    ({"prompt": "x", "images": ["b.png"]}, "images.0", "pass a Path"),
    ({"prompt": "x", "options": [1]}, "options", "Input should be a valid dictionary"),
    ({"prompt": "x", "mode": "medium"}, "mode", "Input should be 'fast' or 'slow'"),
    ({"prompt": "x", "mode": None}, "mode", "Input should be a valid string"),
    ({"prompt": "x", "stesp": 4}, "stesp", "not an input of this model; did you mean 'steps'?"),
    ({"prompt": "x", "zzz": 4}, "zzz", "not an input of this model"),
]


@pytest.mark.parametrize(("given", "field", "message"), INVALID)
def test_each_keyword_rejects_what_it_does_not_allow(
    given: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(InputValidationError) as caught:
        check_against(cog_schema(), "someone/painter", given)

    error = caught.value
    assert error.model == "someone/painter"
    assert isinstance(error, ValueError)
    [problem] = error.problems
    assert problem.field == field
    assert message in problem.message
    assert message in str(error)


def test_every_problem_is_listed_with_what_was_given_and_what_is_allowed() -> None:
    given = {"steps": 99, "mode": "medium", "promt": "x"}

    with pytest.raises(InputValidationError) as caught:
        check_against(cog_schema(), "someone/painter", given)

    assert caught.value.problems == (
        InputProblem("prompt", None, "a value", "Field required"),
        InputProblem(
            "steps", 99, "less than or equal to 50", "Input should be less than or equal to 50"
        ),
        InputProblem("mode", "medium", "'fast' or 'slow'", "Input should be 'fast' or 'slow'"),
        InputProblem(
            "promt",
            "x",
            "one of prompt, steps, guidance, safe, tags, image, images, options, mode or seed",
            "not an input of this model; did you mean 'prompt'?",
        ),
    )


def test_an_unknown_input_name_is_refused_even_with_no_near_miss() -> None:
    schema = cog_schema({"type": "object", "properties": {}})

    with pytest.raises(InputValidationError, match="not an input of this model"):
        check_against(schema, "m/n", {"prompt": "x"})


def test_enum_values_keep_their_json_type() -> None:
    schema = cog_schema({"properties": {"n": {"enum": [1, 2.5, "3"]}, "b": {"enum": [True]}}})

    check_against(schema, "m/n", {"n": 1, "b": True})
    check_against(schema, "m/n", {"n": 1.0})
    for given in ({"n": True}, {"n": 3}, {"b": 1}):
        with pytest.raises(InputValidationError):
            check_against(schema, "m/n", given)


ODD = "a" * 30 + "!"


@pytest.mark.parametrize(
    ("openapi", "given"),
    [
        (None, {"anything": 1}),
        ({}, {"anything": 1}),
        ({"components": None}, {"anything": 1}),
        ({"components": {"schemas": {"Input": ["not", "an", "object"]}}}, {"anything": 1}),
        (cog_schema({"properties": ["prompt"], "required": "prompt"}), {"x": 1}),
        (cog_schema({"properties": {"x": None, "y": 3, "z": [1]}}), {"x": 1, "y": 2, "z": 3}),
        (cog_schema({"properties": {"x": {"type": "array", "items": 3}}}), {"x": [1]}),
        (cog_schema({"properties": {"x": {"type": "decimal", "minimum": "1"}}}), {"x": 0}),
        (cog_schema({"properties": {"x": {"$ref": "http://evil.test/s.json"}}}), {"x": 1}),
        (cog_schema({"properties": {"x": {"$ref": "#/components/schemas/gone"}}}), {"x": 1}),
        (cog_schema({"properties": {"x": {"allOf": "not a list", "enum": "nor"}}}), {"x": 1}),
        (cog_schema({"properties": {"x": {"maximum": True, "minimum": None}}}), {"x": 9}),
        (cog_schema({"properties": {"x": {"type": ["string", "null"]}}}), {"x": 1}),
        (cog_schema({"properties": {"x": {"pattern": "(a+)+$", "type": "string"}}}), {"x": ODD}),
        (cog_schema({"properties": {"x": {"type": "array", "format": "uri"}}}), {"x": [1]}),
    ],
    ids=[
        "none",
        "empty",
        "components-null",
        "input-list",
        "properties-list",
        "property-nodes-not-objects",
        "items-number",
        "unknown-type",
        "remote-ref",
        "missing-ref",
        "all-of-string",
        "bounds-not-numbers",
        "type-list",
        "pattern",
        "uri-on-an-array",
    ],
)
def test_what_the_checker_does_not_understand_is_accepted(
    openapi: dict[str, object] | None, given: dict[str, object]
) -> None:
    check_against(openapi, "m/n", given)


def test_unknown_names_are_still_refused_when_property_nodes_are_odd() -> None:
    schema = cog_schema({"properties": {"x": None}})

    with pytest.raises(InputValidationError, match="did you mean 'x'"):
        check_against(schema, "m/n", {"xx": 1})


def seconds_to_check(openapi: dict[str, object], given: dict[str, object]) -> float:
    start = time.perf_counter()
    with contextlib.suppress(InputValidationError):
        check_against(openapi, "m/n", given)
    return time.perf_counter() - start


def test_a_ref_cycle_stops_at_the_depth_limit() -> None:
    schema = cog_schema(
        {"properties": {"x": {"$ref": "#/components/schemas/loop"}}},
        loop={"allOf": [{"$ref": "#/components/schemas/loop"}]},
    )

    assert seconds_to_check(schema, {"x": 1}) < 1.0


def test_a_fan_out_of_refs_stops_at_the_work_limit() -> None:
    # Each level refers to the next 50 times: 50**8 paths within the depth limit.
    levels: dict[str, object] = {
        f"l{n}": {"allOf": [{"$ref": f"#/components/schemas/l{n + 1}"}] * 50} for n in range(20)
    }
    levels["l20"] = {"type": "string"}
    schema = cog_schema({"properties": {"x": {"$ref": "#/components/schemas/l0"}}}, **levels)

    assert seconds_to_check(schema, {"x": 1}) < 2.0


def test_deeper_than_the_depth_limit_is_accepted() -> None:
    node: dict[str, object] = {"type": "string"}
    for _ in range(MAX_DEPTH + 1):
        node = {"allOf": [node]}
    schema = cog_schema({"properties": {"x": node}})

    check_against(schema, "m/n", {"x": 1})  # the string check is out of reach: accepted
    shallow = cog_schema({"properties": {"x": {"allOf": [{"type": "string"}]}}})
    with pytest.raises(InputValidationError):
        check_against(shallow, "m/n", {"x": 1})


def test_a_huge_enum_is_listed_short_and_checked_within_the_work_limit() -> None:
    allowed = [f"value-{n}" for n in range(50_000)]
    schema = cog_schema({"properties": {"x": {"enum": allowed}}})

    with pytest.raises(InputValidationError) as caught:
        check_against(schema, "m/n", {"x": "other"})
    assert "... (50,000 in all)" in str(caught.value)
    assert len(str(caught.value)) < 500

    # An enum past the work limit is not read at all: accepted rather than slow.
    huge = cog_schema({"properties": {"x": {"enum": [0] * (MAX_STEPS + 1)}}})
    check_against(huge, "m/n", {"x": 1})


def test_a_list_of_many_items_is_checked_within_the_work_limit() -> None:
    enum = {"enum": [f"v{n}" for n in range(1_000)]}
    schema = cog_schema({"properties": {"x": {"type": "array", "items": enum}}})

    assert seconds_to_check(schema, {"x": ["nope"] * 100_000}) < 2.0


def test_values_too_long_to_show_do_not_break_the_message() -> None:
    # Past Python's 4,300 digits, an int has no repr; a JSON answer cannot hold one, a dict can.
    schema = cog_schema({"properties": {"x": {"type": "integer", "minimum": 10**5000}}})
    name = "n" * 10_000
    named = cog_schema({"properties": {name: {"type": "string"}}, "required": [name]})

    with pytest.raises(InputValidationError, match="too long to show"):
        check_against(schema, "m/n", {"x": 0})
    with pytest.raises(InputValidationError) as caught:
        check_against(named, "m/n", {})
    assert caught.value.problems[0].field == "n" * 100


def test_the_cache_keeps_schemas_by_model_and_version() -> None:
    cache = SchemaCache()
    openapi = cog_schema()

    assert cache.get("m/n", None) is None
    cache.put("m/n", None, openapi, 5_000)
    cache.put("m/n", "v1", None, 10)

    assert cache.get("m/n", None) is openapi
    assert cache.get("m/n", "v1") == {}  # known to have no schema: checks nothing
    assert cache.get("m/n", "v2") is None


def test_the_cache_is_bounded_by_size_least_recently_used_first() -> None:
    cache = SchemaCache()
    third = SchemaCache.MAX_BYTES // 3
    for name in ("a/1", "b/2", "c/3"):
        cache.put(name, None, {"name": name}, third)
    cache.get("a/1", None)  # used: b/2 is now the oldest

    cache.put("d/4", None, {"name": "d"}, third)

    assert cache.get("b/2", None) is None
    assert [cache.get(n, None) is not None for n in ("a/1", "c/3", "d/4")] == [True] * 3
    # One larger than the whole cache is not kept, and evicts nothing.
    cache.put("e/5", None, {"name": "e"}, SchemaCache.MAX_BYTES + 1)
    assert cache.get("e/5", None) is None
    assert cache.get("a/1", None) is not None


def test_the_cache_counts_each_entry_as_a_kibibyte_at_least() -> None:
    cache = SchemaCache()
    count = SchemaCache.MAX_BYTES // 1024

    for n in range(count + 10):
        cache.put(f"m/{n}", None, {}, 0)

    assert cache.get("m/0", None) is None
    assert cache.get(f"m/{count + 9}", None) == {}
