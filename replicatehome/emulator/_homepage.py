"""The homepage protocol, anonymous, and the image files of both protocols' predictions.

- ``POST /api/prediction``: create a prediction (201), 400 for a malformed request, 413 for
  a body over `MAX_BODY_BYTES`, 422 for an unknown model, a version of another model, or an
  invalid input (``{"detail": "Input validation failed:\\n- input.<field>: ..."}``);
- ``GET /api/poll?id=...``: the prediction (200), 400 without an id, 404 for an unknown,
  expired or evicted one;
- ``GET /files/{id}/out-{n}.{format}``: an image, no token needed. The real service's files are
  on a CDN, outside both APIs: its errors are in the homepage's style.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._app import EmulatorApp, create_prediction, poll_prediction
from ._images import MEDIA_TYPES, image_bytes
from ._inputs import InputError, parse_input
from ._requests import BodyError, read_json_object
from ._responses import base_url, file_url, input_problems, json_error
from ._state import Record, advance, render

__all__ = ["create", "image_file", "poll"]


async def create(app: EmulatorApp, request: Request) -> Response:
    """``POST /api/prediction``."""
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
    spec = app.models.get(model)
    if spec is None:
        known = ", ".join(app.models)
        return json_error(422, f"Model {model!r} is not available. Available models: {known}.")
    if spec.version is not None and version != spec.version:
        return json_error(422, f"Version {version!r} does not exist for model {model!r}.")
    try:
        parsed = parse_input(app.config, spec, inputs)
    except InputError as error:
        return json_error(422, f"Input validation failed:\n{input_problems(error.problems)}")
    record = create_prediction(app, spec, version, inputs, parsed, source="web")
    return _prediction(app, request, record, status_code=201)


async def poll(app: EmulatorApp, request: Request) -> Response:
    """``GET /api/poll?id=...``."""
    prediction_id = request.query_params.get("id")
    if not prediction_id:
        return json_error(400, "Query parameter 'id' is required.")
    record = poll_prediction(app, prediction_id)
    if record is None:
        return json_error(404, "Prediction not found")
    return _prediction(app, request, record)


async def image_file(app: EmulatorApp, request: Request) -> Response:
    """``GET /files/{id}/out-{n}.{format}``: the ``n``-th image of a succeeded image prediction,
    in the format its input asked for (``png``, ``webp`` or ``jpg``).

    The name is taken whole, as text, and only ever matched against the prediction's own file
    names: nothing a client sends is parsed.
    """
    store = app.store
    record = store.get(request.path_params["prediction_id"])
    if record is None:
        return json_error(404, "File not found")
    snap = advance(record, store.clock())
    succeeded = snap.status == "succeeded" and record.plan.images
    names = (snap.output or ()) if succeeded else ()
    name = request.path_params["name"]
    if name not in names:
        return json_error(404, "File not found")
    picture = record.plan.picture
    # Encoding a large image takes a while: keep the event loop free meanwhile.
    data = await run_in_threadpool(image_bytes, record.prompt, names.index(name), picture)
    return Response(data, media_type=MEDIA_TYPES[picture.format])


def _prediction(
    app: EmulatorApp, request: Request, record: Record, *, status_code: int = 200
) -> Response:
    base = base_url(request)
    body = render(
        app.store,
        record,
        urls={"get": f"{base}/api/poll?id={record.id}"},
        file_url=file_url(base),
    )
    return JSONResponse(body, status_code=status_code)
