"""The emulator's ASGI application: the homepage protocol's routes and the image files.

Layers, so that another protocol (the official ``/v1`` API) can be added as more routes:

- `PredictionStore` and `render` (``_state.py``) own predictions and the prediction object;
- `EmulatorApp._route` wraps every endpoint with counters and request-level faults;
- the ``_homepage_*`` endpoints only parse requests and pick status codes.
"""

from __future__ import annotations

import http
import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..catalog import ModelSpec
from ._config import EmulatorConfig
from ._faults import FaultInjector, Faults, RequestFault
from ._images import png_bytes
from ._state import (
    Clock,
    Plan,
    PredictionStore,
    Record,
    advance,
    emulated_tokens,
    render,
)
from ._stats import EmulatorStats

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["EmulatorApp"]

Endpoint = Callable[[Request], Awaitable[Response]]


class EmulatorApp:
    """The emulator as an ASGI application, with its live state: faults, counters, predictions.

    Serve it with any ASGI server, or call it through ``httpx.ASGITransport`` in tests. Routes:

    - ``POST /api/prediction``: create a prediction (201), 400 for a malformed request, 422 for
      an unknown model, a version of another model, or a missing prompt;
    - ``GET /api/poll?id=...``: the prediction (200), 400 without an id, 404 for an unknown one;
    - ``GET /files/{id}/out-{n}.png``: the images of a succeeded image prediction.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock = time.monotonic,
        wall_epoch: float | None = None,
    ) -> None:
        """Create the application.

        Args:
            config: How the emulator behaves (default: `EmulatorConfig()`).
            clock: The monotonic clock that drives predictions; tests pass a fake one.
            wall_epoch: The Unix time of the clock's current reading, for timestamps
                (default: now).
        """
        self.config = config or EmulatorConfig()
        self.stats = EmulatorStats()
        self._store = PredictionStore(clock=clock, wall_epoch=wall_epoch)
        self._injector = FaultInjector(self.config.faults)
        self._models = {spec.name: spec for spec in self.config.models}
        self._app = Starlette(
            routes=[
                self._route("/api/prediction", "create", self._homepage_create, "POST"),
                self._route("/api/poll", "poll", self._homepage_poll, "GET"),
                self._route(
                    "/files/{prediction_id}/out-{index:int}.png", "file", self._image_file, "GET"
                ),
            ],
            exception_handlers={HTTPException: _http_error},
        )

    @property
    def faults(self) -> Faults:
        """The faults in force. Assign new `Faults` at any time, from any thread."""
        return self._injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._injector.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        await self._app(scope, receive, send)

    def _route(self, path: str, name: str, endpoint: Endpoint, method: str) -> Route:
        """Wrap `endpoint` with the counters and the request-level faults of route `name`."""

        async def guarded(request: Request) -> Response:
            self.stats.count_request(name)
            faults, fault = self._injector.for_request(name)
            active = name in faults.routes
            if active and faults.slow_seconds:
                await anyio.sleep(faults.slow_seconds)
            if fault is None:
                try:
                    response = await endpoint(request)
                except ClientDisconnect:
                    # The client gave up (its timeout beat `slow_seconds`): nobody to answer.
                    return Response(status_code=499)
            else:
                self.stats.count_fault(fault.kind)
                response = _fault_response(fault, faults)
            if active and faults.text_plain and response.media_type == "application/json":
                response.headers["content-type"] = "text/plain; charset=utf-8"
            return response

        return Route(path, guarded, methods=[method], name=name)

    async def _homepage_create(self, request: Request) -> Response:
        try:
            body: object = json.loads(await request.body())
        except ValueError:
            return _error(400, "Request body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object.")
        model, version, inputs = body.get("model"), body.get("version"), body.get("input")
        if not isinstance(model, str) or not model:
            return _error(400, "Field 'model' is required and must be a string.")
        if not isinstance(version, str) or not version:
            return _error(400, "Field 'version' is required and must be a string.")
        if not isinstance(inputs, dict):
            return _error(400, "Field 'input' is required and must be an object.")
        spec = self._models.get(model)
        if spec is None:
            known = ", ".join(self._models)
            return _error(422, f"Model {model!r} is not available. Available models: {known}.")
        if spec.version is not None and version != spec.version:
            return _error(422, f"Version {version!r} does not exist for model {model!r}.")
        prompt = inputs.get("prompt")
        if not isinstance(prompt, str):
            return _error(422, "Input 'prompt' is required and must be a string.")
        images = 0
        if spec.kind == "image":
            images = inputs.get("num_outputs", self.config.image_count)
            if isinstance(images, bool) or not isinstance(images, int) or not 0 < images <= 10:
                return _error(422, "Input 'num_outputs' must be an integer from 1 to 10.")
        record = self._create(spec, version, inputs, prompt, images)
        return self._homepage_prediction(request, record, status_code=201)

    async def _homepage_poll(self, request: Request) -> Response:
        prediction_id = request.query_params.get("id")
        if not prediction_id:
            return _error(400, "Query parameter 'id' is required.")
        self.stats.count_poll(prediction_id)
        record = self._store.get(prediction_id)
        if record is None:
            return _error(404, "Prediction not found")
        return self._homepage_prediction(request, record)

    def _homepage_prediction(
        self, request: Request, record: Record, *, status_code: int = 200
    ) -> Response:
        # Absolute URLs from the request's own base, so they work on whatever host and port
        # the client used.
        base = str(request.base_url).rstrip("/")
        body = render(
            self._store,
            record,
            urls={"get": f"{base}/api/poll?id={record.id}"},
            file_url=lambda prediction_id, name: f"{base}/files/{prediction_id}/{name}",
        )
        return JSONResponse(body, status_code=status_code)

    def _create(
        self,
        spec: ModelSpec,
        version: str,
        inputs: Mapping[str, JsonValue],
        prompt: str,
        images: int,
    ) -> Record:
        fate = self._injector.for_prediction()
        plan = Plan(
            starting=self.config.starting,
            duration=self.config.duration,
            tokens=() if images else emulated_tokens(spec.name, prompt),
            images=images,
            error=fate.error,
            never_finish=fate.never_finish,
        )
        self.stats.count_prediction()
        return self._store.create(spec, version, inputs, prompt, plan)

    async def _image_file(self, request: Request) -> Response:
        record = self._store.get(request.path_params["prediction_id"])
        index: int = request.path_params["index"]
        if (
            record is None
            or index >= record.plan.images
            or advance(record, self._store.clock()).status != "succeeded"
        ):
            return _error(404, "File not found")
        # Encoding a large image takes a while: keep the event loop free meanwhile.
        data = await run_in_threadpool(png_bytes, record.prompt, index, self.config.image_size)
        return Response(data, media_type="image/png")


def _error(status_code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods get JSON errors too, like the real service."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def _fault_response(fault: RequestFault, faults: Faults) -> Response:
    if fault.kind == "rate_limit":
        seconds = faults.retry_after
        header = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        detail = f"Request was throttled. Your rate limit resets in ~{math.ceil(seconds)}s."
        return JSONResponse({"detail": detail}, status_code=429, headers={"Retry-After": header})
    if fault.kind == "server_error":
        title = f"{fault.status} {http.HTTPStatus(fault.status).phrase}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return HTMLResponse(page, status_code=fault.status)
    return _DroppedResponse()


class _DroppedResponse(Response):
    """Starts a JSON answer, then hangs up mid-body, like a connection reset by a proxy.

    It promises more bytes than it sends and returns: the server then closes the connection,
    and the client sees an incomplete message (``httpx.RemoteProtocolError``).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"id": "', "more_body": True})
