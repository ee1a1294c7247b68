"""The homepage protocol: ``POST /api/prediction`` and ``GET /api/poll?id=...``, anonymous."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._backend import Backend, InputError
from ._bodies import BodyError, read_json_object
from ._files import file_url
from ._responses import input_problems, json_error
from ._routing import RouteSpec
from ._state import Record, render

__all__ = ["HomepageRoutes"]


class HomepageRoutes:
    """The homepage protocol's routes. They only parse requests and pick status codes.

    - ``POST /api/prediction``: create a prediction (201), 400 for a malformed request, 413 for
      a body over `MAX_BODY_BYTES`, 422 for an unknown model, a version of another model, or an
      invalid input (``{"detail": "Input validation failed:\n- input.<field>: ..."}``);
    - ``GET /api/poll?id=...``: the prediction (200), 400 without an id, 404 for an unknown,
      expired or evicted one.
    """

    def __init__(self, backend: Backend) -> None:
        """Serve `backend`'s models and predictions."""
        self._backend = backend

    def routes(self) -> list[RouteSpec]:
        """The routes, for the app to guard and mount."""
        return [
            RouteSpec("/api/prediction", "create", self._create, "POST", "homepage"),
            RouteSpec("/api/poll", "poll", self._poll, "GET", "homepage"),
        ]

    async def _create(self, request: Request) -> Response:
        try:
            body = await read_json_object(request)
        except BodyError as error:
            return json_error(error.status_code, error.detail)
        model, version, inputs = body.get("model"), body.get("version"), body.get("input")
        if not isinstance(model, str) or not model:
            return json_error(400, "Field 'model' is required and must be a string.")
        if not isinstance(version, str) or not version:
            return json_error(400, "Field 'version' is required and must be a string.")
        if not isinstance(inputs, dict):
            return json_error(400, "Field 'input' is required and must be an object.")
        spec = self._backend.models.get(model)
        if spec is None:
            known = ", ".join(self._backend.models)
            return json_error(422, f"Model {model!r} is not available. Available models: {known}.")
        if spec.version is not None and version != spec.version:
            return json_error(422, f"Version {version!r} does not exist for model {model!r}.")
        try:
            parsed = self._backend.parse_input(spec, inputs)
        except InputError as error:
            return json_error(422, f"Input validation failed:\n{input_problems(error.problems)}")
        record = self._backend.create(spec, version, inputs, parsed, source="web")
        return self._prediction(request, record, status_code=201)

    async def _poll(self, request: Request) -> Response:
        prediction_id = request.query_params.get("id")
        if not prediction_id:
            return json_error(400, "Query parameter 'id' is required.")
        record = self._backend.poll(prediction_id)
        if record is None:
            return json_error(404, "Prediction not found")
        return self._prediction(request, record)

    def _prediction(self, request: Request, record: Record, *, status_code: int = 200) -> Response:
        # Absolute URLs from the request's own base, so they work on whatever host and port
        # the client used.
        base = str(request.base_url).rstrip("/")
        body = render(
            self._backend.store,
            record,
            urls={"get": f"{base}/api/poll?id={record.id}"},
            file_url=file_url(base),
        )
        return JSONResponse(body, status_code=status_code)
