"""The ``/v1`` model and version objects, with the OpenAPI schema of the version's inputs.

A catalog model's ``components.schemas.Input`` (and its enums) is generated from the pydantic
model the SDK validates with (``_cog_schema.py``); a model outside the catalog gets a minimal one,
a ``prompt`` and, for images, ``num_outputs``. ``Output`` is what Cog declares: replicate-python
reads it, and an ``array`` whose ``x-cog-array-type`` is ``iterator`` makes ``run()`` return an
iterator of tokens, which is what text models declare; image models declare an array of URIs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .._cog_schema import cog_input_schemas
from ..catalog import ModelSpec
from ..inputs import INPUT_MODELS

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["model_object", "version_object"]

COG_VERSION: Final = "0.9.6"
VERSION_CREATED_AT: Final = "2024-01-01T00:00:00.000000Z"  # fixed, so answers are reproducible


def _input_schemas(spec: ModelSpec, image_count: int) -> dict[str, JsonValue]:
    """``Input``, and the schemas it refers to."""
    model = INPUT_MODELS.get(spec.name)
    if model is not None:
        return cog_input_schemas(model)
    properties: dict[str, JsonValue] = {
        "prompt": {"type": "string", "title": "Prompt", "x-order": 0},
    }
    if spec.kind == "image":
        properties["num_outputs"] = {
            "type": "integer",
            "title": "Num Outputs",
            "minimum": 1,
            "maximum": 10,
            "default": image_count,
            "x-order": 1,
        }
    return {
        "Input": {
            "type": "object",
            "title": "Input",
            "required": ["prompt"],
            "properties": properties,
        }
    }


def _output_schema(spec: ModelSpec) -> dict[str, JsonValue]:
    if spec.kind == "image":
        return {"type": "array", "items": {"type": "string", "format": "uri"}, "title": "Output"}
    return {
        "type": "array",
        "items": {"type": "string"},
        "title": "Output",
        "x-cog-array-type": "iterator",
        "x-cog-array-display": "concatenate",
    }


def _openapi_schema(spec: ModelSpec, image_count: int) -> dict[str, JsonValue]:
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": {},
        "components": {
            "schemas": {**_input_schemas(spec, image_count), "Output": _output_schema(spec)}
        },
    }


def version_object(spec: ModelSpec, version_id: str, image_count: int) -> dict[str, JsonValue]:
    """The version object of ``GET /v1/models/{owner}/{name}/versions/{id}``."""
    return {
        "id": version_id,
        "created_at": VERSION_CREATED_AT,
        "cog_version": COG_VERSION,
        "openapi_schema": _openapi_schema(spec, image_count),
    }


def model_object(spec: ModelSpec, version_id: str, image_count: int) -> dict[str, JsonValue]:
    """The model object of ``GET /v1/models/{owner}/{name}``, with its latest version."""
    kind = "image" if spec.kind == "image" else "text"
    return {
        "url": f"https://replicate.com/{spec.name}",
        "owner": spec.owner,
        "name": spec.short_name,
        "description": f"Emulated {kind} model: replicatehome's emulator stands in for it.",
        "visibility": "public",
        "github_url": None,
        "paper_url": None,
        "license_url": None,
        "run_count": 0,
        "cover_image_url": None,
        "default_example": None,
        "latest_version": version_object(spec, version_id, image_count),
    }
