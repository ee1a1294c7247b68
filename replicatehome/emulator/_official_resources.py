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
from ._auth import authenticated
from ._backend import Backend
from ._faults import RouteName
from ._model_info import VERSION_CREATED_AT, model_object, version_object
from ._official import NOT_PERMITTED, model_not_found
from ._pagination import Page, page_body, parse_cursor
from ._responses import problem
from ._routing import Endpoint, RouteSpec

__all__ = ["ResourceRoutes"]

_RELEASE_CREATED_AT: Final = VERSION_CREATED_AT


class ResourceRoutes:
    """The model, version, deployment and webhook secret routes of ``/v1``."""

    def __init__(self, backend: Backend) -> None:
        """Serve `backend`'s models and deployments."""
        self._backend = backend

    def routes(self) -> list[RouteSpec]:
        """The routes, for the app to guard and mount."""
        model = "/v1/models/{owner}/{name}"
        routes: list[tuple[str, RouteName, Endpoint]] = [
            (model, "model", self._model),
            (f"{model}/versions", "model", self._versions),
            (f"{model}/versions/{{version_id}}", "model", self._version),
            ("/v1/deployments/{owner}/{name}", "model", self._deployment),
            ("/v1/webhooks/default/secret", "account", self._webhook_secret),
        ]
        return [
            RouteSpec(path, name, authenticated(self._backend, endpoint), "GET", "official")
            for path, name, endpoint in routes
        ]

    def _find_model(self, request: Request) -> ModelSpec | None:
        owner, name = request.path_params["owner"], request.path_params["name"]
        return self._backend.models.get(f"{owner}/{name}")

    async def _model(self, request: Request) -> Response:
        spec = self._find_model(request)
        if spec is None:
            return model_not_found(request, self._backend.models)
        version_id = self._backend.version_of(spec)
        return JSONResponse(model_object(spec, version_id, self._backend.config.image_count))

    async def _versions(self, request: Request) -> Response:
        spec = self._find_model(request)
        if spec is None:
            return model_not_found(request, self._backend.models)
        try:
            cursor = parse_cursor(request.query_params.get("cursor"))
        except ValueError:
            return problem(
                400, "Invalid cursor", "The cursor is not valid.", instance=request.url.path
            )
        # One version: the first page holds it, and any cursor points past it.
        version = version_object(
            spec, self._backend.version_of(spec), self._backend.config.image_count
        )
        page = Page([version] if cursor is None else [], None, None)
        return JSONResponse(page_body(request.url, page, lambda item: item))

    async def _version(self, request: Request) -> Response:
        spec = self._find_model(request)
        if spec is None:
            return model_not_found(request, self._backend.models)
        version_id = self._backend.version_of(spec)
        if request.path_params["version_id"] != version_id:
            return problem(
                404,
                "Version not found",
                f"Model {spec.name} has no version {request.path_params['version_id']!r} "
                f"{NOT_PERMITTED}",
                instance=request.url.path,
            )
        return JSONResponse(version_object(spec, version_id, self._backend.config.image_count))

    async def _deployment(self, request: Request) -> Response:
        owner, name = request.path_params["owner"], request.path_params["name"]
        spec = self._backend.deployments.get(f"{owner}/{name}")
        if spec is None:
            return problem(
                404,
                "Deployment not found",
                f"The requested deployment {owner}/{name} does not exist {NOT_PERMITTED}.",
                instance=request.url.path,
            )
        return JSONResponse(
            {
                "owner": owner,
                "name": name,
                "current_release": {
                    "number": 1,
                    "model": spec.name,
                    "version": self._backend.version_of(spec),
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

    async def _webhook_secret(self, request: Request) -> Response:
        return JSONResponse({"key": self._backend.config.webhook_secret})
