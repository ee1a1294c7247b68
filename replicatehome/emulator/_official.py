"""The official API under ``/v1``: bearer auth, two ways to create, get, cancel, stream, models.

Every route answers errors with RFC 7807 problem details, and asks for a token first. Predictions
are the same ones the homepage protocol makes (one store, one state machine); only the ``urls``
differ: ``get``, ``cancel``, ``web``, and ``stream`` for models that can stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..catalog import ModelSpec
from ._backend import Backend, InputError
from ._bodies import BodyError, read_json_object
from ._faults import RouteName
from ._files import file_url
from ._model_info import model_object, version_object
from ._responses import problem
from ._routing import Endpoint, RouteSpec
from ._sse import EventStream
from ._state import Record, render
from ._wait import hold, parse_prefer_wait

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["OfficialRoutes"]

_NOT_PERMITTED = "(or perhaps you don't have permission to use it?)"


class OfficialRoutes:
    """The ``/v1`` routes. They only parse requests and pick status codes.

    - ``POST /v1/models/{owner}/{name}/predictions`` and ``POST /v1/predictions`` (by version):
      create (201), holding the answer with ``Prefer: wait``;
    - ``GET /v1/predictions/{id}``, ``POST /v1/predictions/{id}/cancel``;
    - ``GET /v1/predictions/{id}/stream``: server-sent events, text models only;
    - ``GET /v1/models/{owner}/{name}`` and ``.../versions/{id}``: model and version objects.
    """

    def __init__(self, backend: Backend) -> None:
        """Serve `backend`'s models and predictions."""
        self._backend = backend

    def routes(self) -> list[RouteSpec]:
        """The routes, for the app to guard and mount."""
        model = "/v1/models/{owner}/{name}"
        prediction = "/v1/predictions/{prediction_id}"
        routes: list[tuple[str, RouteName, Endpoint, str]] = [
            (f"{model}/predictions", "create", self._create_by_model, "POST"),
            ("/v1/predictions", "create", self._create_by_version, "POST"),
            (prediction, "poll", self._get, "GET"),
            (f"{prediction}/cancel", "cancel", self._cancel, "POST"),
            (f"{prediction}/stream", "stream", self._stream, "GET"),
            (model, "model", self._model, "GET"),
            (f"{model}/versions/{{version_id}}", "model", self._version, "GET"),
        ]
        return [
            RouteSpec(path, name, self._authenticated(endpoint), method, "official")
            for path, name, endpoint, method in routes
        ]

    # --- auth -----------------------------------------------------------------------------------

    def _authenticated(self, endpoint: Endpoint) -> Endpoint:
        """Wrap `endpoint` so that it runs only for a request with an accepted token."""

        async def checked(request: Request) -> Response:
            refusal = self._refusal(request)
            return refusal if refusal is not None else await endpoint(request)

        return checked

    def _refusal(self, request: Request) -> Response | None:
        """The 401 for a request without an accepted token, or ``None``. Tokens are never echoed."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        # "Token" is the scheme Replicate's API documented first, which older clients still send.
        if scheme.lower() not in ("bearer", "token") or not token:
            return _unauthenticated(request, "You did not pass an authentication token")
        accepted = self._backend.config.api_tokens
        if accepted is not None and token not in accepted:
            return _unauthenticated(
                request, "You did not pass a valid authentication token", title="Invalid token"
            )
        return None

    # --- creating -------------------------------------------------------------------------------

    async def _create_by_model(self, request: Request) -> Response:
        spec = self._find_model(request)
        if spec is None:
            return _model_not_found(request, self._backend.models)
        body = await _read_object(request)
        if isinstance(body, Response):
            return body
        return await self._create(request, spec, self._backend.version_of(spec), body)

    async def _create_by_version(self, request: Request) -> Response:
        body = await _read_object(request)
        if isinstance(body, Response):
            return body
        reference = body.get("version")
        spec: ModelSpec | None = None
        version_id = ""
        if isinstance(reference, str):
            # "<64-hex>", or "owner/name:<64-hex>" where the name must match the version's model.
            name, _, version_id = reference.rpartition(":")
            spec = self._backend.model_for_version(version_id)
            if spec is not None and name and name != spec.name:
                spec = None
        if spec is None:
            return problem(
                422,
                "Invalid version or not permitted",
                f"The specified version does not exist {_NOT_PERMITTED}",
                instance=request.url.path,
            )
        return await self._create(request, spec, version_id, body)

    async def _create(
        self, request: Request, spec: ModelSpec, version: str, body: Mapping[str, JsonValue]
    ) -> Response:
        """Validate the input and the ``Prefer`` header, create, and hold if asked to."""
        try:
            wait = parse_prefer_wait(request.headers.get("prefer"))
        except ValueError as error:
            return problem(400, "Invalid Prefer header", str(error), instance=request.url.path)
        inputs = body.get("input")
        if not isinstance(inputs, dict):
            given = "null" if inputs is None else type(inputs).__name__
            return _invalid_input(
                request, "input", f"Invalid type. Expected: object, given: {given}"
            )
        try:
            parsed = self._backend.parse_input(spec, inputs)
        except InputError as error:
            return _invalid_input(request, error.field, f"{error.field} {error.problem}")
        # Unknown fields ("stream", "webhook", ...) are accepted and ignored, as the real API
        # does with what it does not need: every text prediction can be streamed.
        record = self._backend.create(spec, version, inputs, parsed)
        if wait is None:
            return self._prediction(request, record, status_code=201)
        await hold(self._backend, record.id, wait)
        record = self._backend.store.get(record.id) or record  # a cancel replaced it, maybe
        response = self._prediction(request, record, status_code=201)
        response.headers["Preference-Applied"] = "wait"
        return response

    # --- predictions ----------------------------------------------------------------------------

    async def _get(self, request: Request) -> Response:
        record = self._backend.poll(request.path_params["prediction_id"])
        if record is None:
            return _prediction_not_found(request)
        return self._prediction(request, record)

    async def _cancel(self, request: Request) -> Response:
        record = self._backend.store.cancel(request.path_params["prediction_id"])
        if record is None:
            return _prediction_not_found(request)
        return self._prediction(request, record)

    async def _stream(self, request: Request) -> Response:
        record = self._backend.store.get(request.path_params["prediction_id"])
        if record is None:
            return _prediction_not_found(request)
        if not self._backend.streams(record.model):
            return problem(
                404,
                "Not found",
                f"Model {record.model.name} does not support streaming: its predictions have no "
                "stream.",
                instance=request.url.path,
            )
        return EventStream(self._backend, record.id)

    def _prediction(self, request: Request, record: Record, *, status_code: int = 200) -> Response:
        # Absolute URLs from the request's own base, so they work on whatever host and port
        # the client used.
        base = str(request.base_url).rstrip("/")
        here = f"{base}/v1/predictions/{record.id}"
        urls = {"get": here, "cancel": f"{here}/cancel"}
        if self._backend.streams(record.model):
            urls["stream"] = f"{here}/stream"
        urls["web"] = f"https://replicate.com/p/{record.id}"
        body = render(self._backend.store, record, urls=urls, file_url=file_url(base))
        return JSONResponse(body, status_code=status_code)

    # --- models ---------------------------------------------------------------------------------

    def _find_model(self, request: Request) -> ModelSpec | None:
        owner, name = request.path_params["owner"], request.path_params["name"]
        return self._backend.models.get(f"{owner}/{name}")

    async def _model(self, request: Request) -> Response:
        spec = self._find_model(request)
        if spec is None:
            return _model_not_found(request, self._backend.models)
        version_id = self._backend.version_of(spec)
        return JSONResponse(model_object(spec, version_id, self._backend.config.image_count))

    async def _version(self, request: Request) -> Response:
        spec = self._find_model(request)
        if spec is None:
            return _model_not_found(request, self._backend.models)
        version_id = self._backend.version_of(spec)
        if request.path_params["version_id"] != version_id:
            return problem(
                404,
                "Version not found",
                f"Model {spec.name} has no version {request.path_params['version_id']!r} "
                f"{_NOT_PERMITTED}",
                instance=request.url.path,
            )
        return JSONResponse(version_object(spec, version_id, self._backend.config.image_count))


async def _read_object(request: Request) -> dict[str, JsonValue] | Response:
    """The request's JSON object body, or the 400 or 413 problem to answer instead."""
    try:
        return await read_json_object(request)
    except BodyError as error:
        return problem(error.status_code, error.title, error.detail, instance=request.url.path)


def _unauthenticated(request: Request, detail: str, *, title: str = "Unauthenticated") -> Response:
    return problem(
        401, title, detail, instance=request.url.path, headers={"WWW-Authenticate": "Bearer"}
    )


def _invalid_input(request: Request, field: str, description: str) -> Response:
    # The real API lists the fields machine-readably too, in "invalid_fields".
    return problem(
        422,
        "Input validation failed",
        f"- input: {description}",
        instance=request.url.path,
        extra={"invalid_fields": [{"type": "invalid", "field": field, "description": description}]},
    )


def _model_not_found(request: Request, known: Iterable[str]) -> Response:
    owner, name = request.path_params["owner"], request.path_params["name"]
    return problem(
        404,
        "Model not found",
        f"The requested model {owner}/{name} does not exist {_NOT_PERMITTED}. "
        f"Available models: {', '.join(known)}.",
        instance=request.url.path,
    )


def _prediction_not_found(request: Request) -> Response:
    return problem(
        404,
        "Not found",
        f"Prediction {request.path_params['prediction_id']} not found",
        instance=request.url.path,
    )
