"""Typed results of finished predictions: `TextResult` and `ImageResult`."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from ._models import PredictionSnapshot
from .catalog import Kind, find
from .errors import ResponseValidationError

__all__ = ["AsyncFetch", "Fetch", "ImageResult", "TextResult"]

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


Fetch: TypeAlias = Callable[[str, "float | None"], Iterator[bytes]]
"""Downloads a URL within a timeout, as chunks of bytes: how a `Client` fetches."""
AsyncFetch: TypeAlias = Callable[[str, "float | None"], AsyncIterator[bytes]]
"""The same for an `AsyncClient`."""


class ImageResult:
    """The images a prediction produced, as URLs, with ways to download them.

    Results from `Client` download with `read` and `save`; results from `AsyncClient` with
    `aread` and `asave`. Downloads go through the client that made the result, with its retries,
    its size limit (``max_download_bytes``) and its ``wait_timeout`` unless you pass `timeout`.
    A download that is not an image raises `ResponseValidationError`, and nothing is written.
    """

    __slots__ = ("_afetch", "_fetch", "prediction", "urls")

    def __init__(
        self,
        urls: tuple[str, ...],
        prediction: PredictionSnapshot,
        *,
        fetch: Fetch | None = None,
        afetch: AsyncFetch | None = None,
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

    def _chunks(self, index: int, timeout: float | None) -> Iterator[bytes]:
        if self._fetch is None:
            raise TypeError("This result came from AsyncClient: use `await result.aread()`.")
        return self._fetch(self.urls[index], timeout)

    def _achunks(self, index: int, timeout: float | None) -> AsyncIterator[bytes]:
        if self._afetch is None:
            raise TypeError("This result came from Client: use `result.read()`.")
        return self._afetch(self.urls[index], timeout)

    def read(self, index: int = 0, *, timeout: float | None = None) -> bytes:
        """Download image `index` (the first by default) and return its bytes.

        Args:
            index: which image.
            timeout: seconds the whole download may take; the client's ``wait_timeout``
                by default.
        """
        return b"".join(self._chunks(index, timeout))

    async def aread(self, index: int = 0, *, timeout: float | None = None) -> bytes:
        """Download image `index` (the first by default) and return its bytes."""
        return b"".join([chunk async for chunk in self._achunks(index, timeout)])

    def save(
        self,
        path: str | os.PathLike[str],
        index: int = 0,
        *,
        timeout: float | None = None,
        overwrite: bool = True,
    ) -> Path:
        """Download image `index` to `path` as it arrives; return the path written.

        The file appears whole or not at all, with the usual permissions (your umask): a
        failed download leaves no partial file.

        Args:
            path: the file to write.
            index: which image.
            timeout: seconds the whole download may take; the client's ``wait_timeout``
                by default.
            overwrite: with ``False``, raise `FileExistsError` rather than replace a file.
        """
        with _AtomicFile(Path(path), overwrite=overwrite) as file:
            for chunk in self._chunks(index, timeout):
                file.write(chunk)
        return file.path

    async def asave(
        self,
        path: str | os.PathLike[str],
        index: int = 0,
        *,
        timeout: float | None = None,
        overwrite: bool = True,
    ) -> Path:
        """Download image `index` to `path` as it arrives; see `save`."""
        with _AtomicFile(Path(path), overwrite=overwrite) as file:
            async for chunk in self._achunks(index, timeout):
                # Chunks are at most 64 KiB: writing one to the page cache does not stall the loop.
                file.write(chunk)
        return file.path


class _AtomicFile:
    """A file written under a temporary name beside `path`, and put in place only when whole."""

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        self.path = path
        self._overwrite = overwrite
        self._temporary: Path | None = None
        if path.exists() and not path.is_file():
            # A device or a pipe, such as /dev/null: written in place, never replaced by a file.
            self._file = path.open("wb")
            return
        if not overwrite and path.exists():
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        self._temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
        # Not tempfile.mkstemp: its files are 0600, and an image should get the umask's mode.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        self._file = os.fdopen(os.open(self._temporary, flags, 0o666), "wb")

    def write(self, data: bytes) -> None:
        """Append `data`."""
        self._file.write(data)

    def __enter__(self) -> _AtomicFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._file.close()
        if self._temporary is None:
            return
        try:
            if exc_type is None:
                self._commit(self._temporary)
        finally:
            self._temporary.unlink(missing_ok=True)

    def _commit(self, temporary: Path) -> None:
        if self._overwrite:
            os.replace(temporary, self.path)
            return
        try:
            os.link(temporary, self.path)  # fails, atomically, if the name is taken
        except FileExistsError:
            raise FileExistsError(
                f"{self.path} exists; pass overwrite=True to replace it"
            ) from None


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
        if len(urls) == len(candidates) and all(url.startswith(_URL_PREFIXES) for url in urls):
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
    fetch: Fetch | None = None,
    afetch: AsyncFetch | None = None,
) -> TextResult | ImageResult:
    """The typed result of a succeeded prediction."""
    if (kind or kind_of(prediction)) == "image":
        return ImageResult(image_urls(prediction), prediction, fetch=fetch, afetch=afetch)
    return TextResult(text_of(prediction), prediction)
