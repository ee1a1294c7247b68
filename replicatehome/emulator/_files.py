"""The image files of succeeded image predictions, shared by both protocols; no auth needed."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ._backend import Backend
from ._images import png_bytes
from ._responses import json_error
from ._routing import RouteSpec
from ._state import advance

__all__ = ["FileRoutes", "file_url"]


def file_url(base: str) -> Callable[[str, str], str]:
    """Build absolute image URLs on `base` (the URL the client used, without a trailing slash)."""
    return lambda prediction_id, name: f"{base}/files/{prediction_id}/{name}"


class FileRoutes:
    """``GET /files/{id}/out-{n}.png``: the ``n``-th image of a succeeded image prediction."""

    def __init__(self, backend: Backend) -> None:
        """Serve the images of `backend`'s predictions."""
        self._backend = backend

    def routes(self) -> list[RouteSpec]:
        """The route, for the app to guard and mount."""
        # The real service's files are on a CDN, outside both APIs: the homepage error style.
        # The index is taken as text: Starlette's int convertor would take any run of digits,
        # and int() of a long one raises, which would be a 500.
        path = "/files/{prediction_id}/out-{index}.png"
        return [RouteSpec(path, "file", self._image_file, "GET", "homepage")]

    async def _image_file(self, request: Request) -> Response:
        store = self._backend.store
        record = store.get(request.path_params["prediction_id"])
        name = f"out-{request.path_params['index']}.png"
        if record is None:
            return json_error(404, "File not found")
        # A succeeded image prediction's output is its file names: only those exist, so a
        # name is matched as text and never parsed unless it is one of them.
        snap = advance(record, store.clock())
        if snap.status != "succeeded" or not record.plan.images or name not in (snap.output or ()):
            return json_error(404, "File not found")
        index = int(request.path_params["index"])
        # Encoding a large image takes a while: keep the event loop free meanwhile.
        size = self._backend.config.image_size
        data = await run_in_threadpool(png_bytes, record.prompt, index, size)
        return Response(data, media_type="image/png")
