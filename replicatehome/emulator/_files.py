"""The image files of succeeded image predictions, shared by both protocols; no auth needed."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ._app import EmulatorApp
from ._images import MEDIA_TYPES, image_bytes
from ._responses import json_error
from ._state import advance

__all__ = ["file_url", "image_file"]


def file_url(base: str) -> Callable[[str, str], str]:
    """Build absolute image URLs on `base` (the URL the client used, without a trailing slash)."""
    return lambda prediction_id, name: f"{base}/files/{prediction_id}/{name}"


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
