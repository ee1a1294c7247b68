"""The ``/v1`` resources around predictions: models, their versions, deployments, webhook secret.

- ``GET /v1/models/{owner}/{name}``: the model, with its latest version;
- ``GET /v1/models/{owner}/{name}/versions``: its versions (one), as a cursor page;
- ``GET /v1/models/{owner}/{name}/versions/{id}``: one version;
- ``GET /v1/deployments/{owner}/{name}``: a deployment and its current release;
- ``GET /v1/webhooks/default/secret``: ``{"key": "whsec_..."}``, the secret deliveries are
  signed with.

A version's ``openapi_schema`` holds its ``components.schemas.Input``: for a catalog model
(with its enums), generated from the pydantic model the SDK validates with
(``_cog_schema.py``); for a model outside the catalog, a minimal one, a ``prompt`` and, for
images, ``num_outputs``. ``Output`` is what Cog declares: replicate-python reads it, and an
``array`` whose ``x-cog-array-type`` is ``iterator`` makes ``run()`` return an iterator of
tokens, which is what text models declare; image models declare an array of URIs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._cog_schema import cog_input_schemas
from ..catalog import ModelSpec
from ..inputs import INPUT_MODELS
from ._app import EmulatorApp, version_of
from ._config import MAX_IMAGES
from ._official import NOT_PERMITTED, deployment_not_found, model_not_found
from ._responses import Page, page_body, parse_cursor, problem

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "deployment",
    "model",
    "model_object",
    "version",
    "version_object",
    "versions",
    "webhook_secret",
]

COG_VERSION: Final = "0.9.6"
CREATED_AT: Final = "2024-01-01T00:00:00.000000Z"  # of versions and releases: fixed, reproducible


def _find_model(app: EmulatorApp, request: Request) -> ModelSpec | None:
    owner, name = request.path_params["owner"], request.path_params["name"]
    return app.models.get(f"{owner}/{name}")


async def model(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/models/{owner}/{name}``."""
    spec = _find_model(app, request)
    if spec is None:
        return model_not_found(request, app.models)
    version_id = version_of(spec)
    return JSONResponse(model_object(spec, version_id, app.config.image_count))


async def versions(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/models/{owner}/{name}/versions``."""
    spec = _find_model(app, request)
    if spec is None:
        return model_not_found(request, app.models)
    try:
        cursor = parse_cursor(request.query_params.get("cursor"))
    except ValueError:
        return problem(400, "Invalid cursor", "The cursor is not valid.", instance=request.url.path)
    # One version: the first page holds it, and any cursor points past it.
    version = version_object(spec, version_of(spec), app.config.image_count)
    page = Page([version] if cursor is None else [], None, None)
    return JSONResponse(page_body(request.url, page, lambda item: item))


async def version(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/models/{owner}/{name}/versions/{id}``."""
    spec = _find_model(app, request)
    if spec is None:
        return model_not_found(request, app.models)
    version_id = version_of(spec)
    if request.path_params["version_id"] != version_id:
        return problem(
            404,
            "Version not found",
            f"Model {spec.name} has no version {request.path_params['version_id']!r} "
            f"{NOT_PERMITTED}",
            instance=request.url.path,
        )
    return JSONResponse(version_object(spec, version_id, app.config.image_count))


async def deployment(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/deployments/{owner}/{name}``."""
    owner, name = request.path_params["owner"], request.path_params["name"]
    spec = app.deployments.get(f"{owner}/{name}")
    if spec is None:
        return deployment_not_found(request)
    return JSONResponse(
        {
            "owner": owner,
            "name": name,
            "current_release": {
                "number": 1,
                "model": spec.name,
                "version": version_of(spec),
                "created_at": CREATED_AT,
                "created_by": {"type": "organization", "username": owner},
                "configuration": {
                    "hardware": "cpu",
                    "min_instances": 0,
                    "max_instances": 1,
                },
            },
        }
    )


async def webhook_secret(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/webhooks/default/secret``."""
    return JSONResponse({"key": app.config.webhook_secret})


# --- the model and version objects ---------------------------------------------------------


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
            "maximum": MAX_IMAGES,
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
        "created_at": CREATED_AT,
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
