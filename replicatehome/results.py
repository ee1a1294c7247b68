"""Typed results of finished predictions: `TextResult` and `ImageResult`."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ._models import PredictionSnapshot
from .catalog import Kind, find
from .errors import ResponseValidationError

__all__ = ["ImageResult", "TextResult"]

_URL_PREFIXES = ("http://", "https://", "data:", "/")


@dataclass(frozen=True, slots=True)
class TextResult:
    """The text a prediction produced. ``str(result)`` is the text."""

    text: str
    """The whole generated text."""
    prediction: PredictionSnapshot
    """The finished prediction, with its id, metrics and raw output."""

    def __str__(self) -> str:
        return self.text


class ImageResult:
    """The images a prediction produced, as URLs, with ways to download them.

    Results from `Client` download with `read` and `save`; results from `AsyncClient` with
    `aread` and `asave`. Downloads go through the client that made the result, with its retries.
    """

    __slots__ = ("_afetch", "_fetch", "prediction", "urls")

    def __init__(
        self,
        urls: tuple[str, ...],
        prediction: PredictionSnapshot,
        *,
        fetch: Callable[[str], bytes] | None = None,
        afetch: Callable[[str], Awaitable[bytes]] | None = None,
    ) -> None:
        self.urls = urls
        """Every image URL, in the server's order."""
        self.prediction = prediction
        """The finished prediction."""
        self._fetch = fetch
        self._afetch = afetch

    @property
    def url(self) -> str:
        """The first image's URL: "the" image."""
        return self.urls[0]

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"ImageResult(urls={self.urls!r}, prediction_id={self.prediction.id!r})"

    def read(self, index: int = 0) -> bytes:
        """Download image `index` (the first by default) and return its bytes."""
        if self._fetch is None:
            raise TypeError("This result came from AsyncClient: use `await result.aread()`.")
        return self._fetch(self.urls[index])

    async def aread(self, index: int = 0) -> bytes:
        """Download image `index` (the first by default) and return its bytes."""
        if self._afetch is None:
            raise TypeError("This result came from Client: use `result.read()`.")
        return await self._afetch(self.urls[index])

    def save(self, path: str | os.PathLike[str], index: int = 0) -> Path:
        """Download image `index` and write it to `path`; return the path written.

        The file appears whole or not at all: a failed download leaves no partial file.
        """
        return _write_atomically(Path(path), self.read(index))

    async def asave(self, path: str | os.PathLike[str], index: int = 0) -> Path:
        """Download image `index` and write it to `path` without blocking the event loop."""
        data = await self.aread(index)
        return await asyncio.to_thread(_write_atomically, Path(path), data)


def _write_atomically(path: Path, data: bytes) -> Path:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def text_of(prediction: PredictionSnapshot) -> str:
    """The text in a prediction's output: tokens joined, a plain string, or empty."""
    output = prediction.output
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(item if isinstance(item, str) else str(item) for item in output)
    raise ResponseValidationError(
        f"Prediction {prediction.id} output is not text: {str(output)[:200]}",
        response=None,
        body=output,
    )


def image_urls(prediction: PredictionSnapshot) -> tuple[str, ...]:
    """The image URLs in a prediction's output: a list of them, or one string."""
    output = prediction.output
    candidates = [output] if isinstance(output, str) else output
    if isinstance(candidates, list) and candidates:
        urls = tuple(item for item in candidates if isinstance(item, str))
        if len(urls) == len(candidates):
            return urls
    raise ResponseValidationError(
        f"Prediction {prediction.id} succeeded without image URLs in its output: "
        f"{str(output)[:200]}",
        response=None,
        body=output,
    )


def kind_of(prediction: PredictionSnapshot) -> Kind:
    """Guess what a prediction of an unknown model produced: its catalog kind, or its shape."""
    spec = find(prediction.model or "")
    if spec is not None and spec.kind is not None:
        return spec.kind
    output = prediction.output
    items = output if isinstance(output, list) else [output]
    looks_like_urls = bool(items) and all(
        isinstance(item, str) and item.startswith(_URL_PREFIXES) for item in items
    )
    return "image" if looks_like_urls else "text"


def build_result(
    kind: Kind | None,
    prediction: PredictionSnapshot,
    *,
    fetch: Callable[[str], bytes] | None = None,
    afetch: Callable[[str], Awaitable[bytes]] | None = None,
) -> TextResult | ImageResult:
    """The typed result of a succeeded prediction."""
    if (kind or kind_of(prediction)) == "image":
        return ImageResult(image_urls(prediction), prediction, fetch=fetch, afetch=afetch)
    return TextResult(text_of(prediction), prediction)
