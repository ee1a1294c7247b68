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
        path = "/files/{prediction_id}/out-{index:int}.png"
        return [RouteSpec(path, "file", self._image_file, "GET", "homepage")]

    async def _image_file(self, request: Request) -> Response:
        store = self._backend.store
        record = store.get(request.path_params["prediction_id"])
        index: int = request.path_params["index"]
        if (
            record is None
            or index >= record.plan.images
            or advance(record, store.clock()).status != "succeeded"
        ):
            return json_error(404, "File not found")
        # Encoding a large image takes a while: keep the event loop free meanwhile.
        size = self._backend.config.image_size
        data = await run_in_threadpool(png_bytes, record.prompt, index, size)
        return Response(data, media_type="image/png")
