"""The ``/v1`` resources around predictions: models, their versions, deployments, webhook secret.

- ``GET /v1/models/{owner}/{name}``: the model, with its latest version;
- ``GET /v1/models/{owner}/{name}/versions``: its versions (one), as a cursor page;
- ``GET /v1/models/{owner}/{name}/versions/{id}``: one version;
- ``GET /v1/deployments/{owner}/{name}``: a deployment and its current release;
- ``GET /v1/webhooks/default/secret``: ``{"key": "whsec_..."}``, the secret deliveries are
  signed with.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..catalog import ModelSpec
from ._app import EmulatorApp, version_of
from ._model_info import VERSION_CREATED_AT, model_object, version_object
from ._official import NOT_PERMITTED, deployment_not_found, model_not_found
from ._pagination import Page, page_body, parse_cursor
from ._responses import problem

__all__ = ["deployment", "model", "version", "versions", "webhook_secret"]

_RELEASE_CREATED_AT: Final = VERSION_CREATED_AT


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
                "created_at": _RELEASE_CREATED_AT,
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
