"""Typed results of finished predictions: `TextResult`, `ImageResult` and `OutputResult`."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import JsonValue

from ._models import PredictionSnapshot
from .catalog import Kind, find
from .errors import ResponseValidationError

__all__ = ["AsyncFetch", "Fetch", "FileOutput", "ImageResult", "OutputResult", "TextResult"]

_URL_PREFIXES = ("http://", "https://", "data:", "/")
_FILE_PREFIXES = ("http://", "https://", "data:")


@dataclass(frozen=True, slots=True)
class TextResult:
    """The text a prediction produced. ``str(result)`` is the text."""

    text: str
    """The whole generated text."""
    prediction: PredictionSnapshot
    """The finished prediction, with its id, metrics and raw output."""

    def __str__(self) -> str:
        return self.text


class Fetch(Protocol):
    """How a `Client` downloads an output URL within a timeout, as chunks of bytes.

    With `image`, a file that does not start like an image is refused; `on_type` hears the
    file's content type once the download opens.
    """

    def __call__(
        self,
        url: str,
        timeout: float | None,
        *,
        image: bool = False,
        on_type: Callable[[str | None], None] | None = None,
    ) -> Iterator[bytes]: ...


class AsyncFetch(Protocol):
    """The same as `Fetch`, for an `AsyncClient`."""

    def __call__(
        self,
        url: str,
        timeout: float | None,
        *,
        image: bool = False,
        on_type: Callable[[str | None], None] | None = None,
    ) -> AsyncIterator[bytes]: ...


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

    def _file(self, index: int, *, sync: bool) -> FileOutput:
        # Said here rather than by FileOutput, which speaks of a file, not of this result.
        if sync and self._fetch is None:
            raise TypeError("This result came from AsyncClient: use `await result.aread()`.")
        if not sync and self._afetch is None:
            raise TypeError("This result came from Client: use `result.read()`.")
        return FileOutput(self.urls[index], fetch=self._fetch, afetch=self._afetch, image=True)

    def read(self, index: int = 0, *, timeout: float | None = None) -> bytes:
        """Download image `index` (the first by default) and return its bytes.

        Args:
            index: which image.
            timeout: seconds the whole download may take; the client's ``wait_timeout``
                by default.
        """
        return self._file(index, sync=True).read(timeout=timeout)

    async def aread(self, index: int = 0, *, timeout: float | None = None) -> bytes:
        """Download image `index` (the first by default) and return its bytes."""
        return await self._file(index, sync=False).aread(timeout=timeout)

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
        return self._file(index, sync=True).save(path, timeout=timeout, overwrite=overwrite)

    async def asave(
        self,
        path: str | os.PathLike[str],
        index: int = 0,
        *,
        timeout: float | None = None,
        overwrite: bool = True,
    ) -> Path:
        """Download image `index` to `path` as it arrives; see `save`."""
        return await self._file(index, sync=False).asave(path, timeout=timeout, overwrite=overwrite)


class FileOutput:
    """A file a prediction produced, by URL, with ways to download it.

    Files from `Client` download with `read`, `save` and `iter_bytes`; files from `AsyncClient`
    with `aread`, `asave` and `aiter_bytes`. Downloads go through the client that made the
    result, with its retries, its size limit (``max_download_bytes``) and its ``wait_timeout``
    unless you pass `timeout`. A ``data:`` URL is decoded without any request.
    """

    __slots__ = ("_afetch", "_fetch", "_image", "content_type", "url")

    def __init__(
        self,
        url: str,
        *,
        fetch: Fetch | None = None,
        afetch: AsyncFetch | None = None,
        image: bool = False,
    ) -> None:
        """A file at `url`; with `image`, a download that does not start like one is refused."""
        self.url = url
        """Where the file is: an ``http(s)`` or ``data:`` URL, as the server sent it."""
        self.content_type: str | None = None
        """The file's media type as its server named it, once a download has started."""
        self._fetch = fetch
        self._afetch = afetch
        self._image = image

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"FileOutput(url={self.url[:100]!r})"

    def _learn_type(self, content_type: str | None) -> None:
        self.content_type = content_type

    def iter_bytes(self, *, timeout: float | None = None) -> Iterator[bytes]:
        """Download the file, yielding its bytes as they arrive.

        Args:
            timeout: seconds the whole download may take; the client's ``wait_timeout``
                by default.
        """
        if self._fetch is None:
            raise TypeError("This file came from AsyncClient: use `await file.aread()`.")
        return self._fetch(self.url, timeout, image=self._image, on_type=self._learn_type)

    def aiter_bytes(self, *, timeout: float | None = None) -> AsyncIterator[bytes]:
        """Download the file, yielding its bytes as they arrive: ``async for chunk in ...``."""
        if self._afetch is None:
            raise TypeError("This file came from Client: use `file.read()`.")
        return self._afetch(self.url, timeout, image=self._image, on_type=self._learn_type)

    def read(self, *, timeout: float | None = None) -> bytes:
        """Download the file and return its bytes."""
        return b"".join(self.iter_bytes(timeout=timeout))

    async def aread(self, *, timeout: float | None = None) -> bytes:
        """Download the file and return its bytes."""
        return b"".join([chunk async for chunk in self.aiter_bytes(timeout=timeout)])

    def save(
        self, path: str | os.PathLike[str], *, timeout: float | None = None, overwrite: bool = True
    ) -> Path:
        """Download the file to `path` as it arrives; return the path written.

        The file appears whole or not at all: a failed download leaves no partial file.

        Args:
            path: the file to write.
            timeout: seconds the whole download may take; the client's ``wait_timeout``
                by default.
            overwrite: with ``False``, raise `FileExistsError` rather than replace a file.
        """
        with _AtomicFile(Path(path), overwrite=overwrite) as file:
            for chunk in self.iter_bytes(timeout=timeout):
                file.write(chunk)
        return file.path

    async def asave(
        self, path: str | os.PathLike[str], *, timeout: float | None = None, overwrite: bool = True
    ) -> Path:
        """Download the file to `path` as it arrives; see `save`."""
        with _AtomicFile(Path(path), overwrite=overwrite) as file:
            async for chunk in self.aiter_bytes(timeout=timeout):
                # Chunks are at most 64 KiB: writing one to the page cache does not stall the loop.
                file.write(chunk)
        return file.path


class OutputResult:
    """What a prediction of a model outside the catalog produced, whatever its JSON shape.

    ``str(result)`` is the text when the output is text, else the output as JSON.
    """

    __slots__ = ("files", "output", "prediction")

    def __init__(
        self,
        prediction: PredictionSnapshot,
        *,
        fetch: Fetch | None = None,
        afetch: AsyncFetch | None = None,
    ) -> None:
        self.prediction = prediction
        """The finished prediction."""
        self.output: JsonValue = prediction.output
        """The output as the server sent it: any JSON value."""
        self.files = tuple(
            FileOutput(url, fetch=fetch, afetch=afetch) for url in _urls_in(self.output)
        )
        """A `FileOutput` for every ``http(s)`` or ``data:`` URL in the output, depth first."""

    @property
    def text(self) -> str | None:
        """The output joined, when it is a string or a list of strings; else ``None``."""
        return text_in(self.output)

    def __str__(self) -> str:
        text = self.text
        return text if text is not None else json.dumps(self.output)

    def __repr__(self) -> str:
        return f"OutputResult(prediction_id={self.prediction.id!r}, files={len(self.files)})"


def _urls_in(output: JsonValue) -> Iterator[str]:
    # Depth first, in the server's order, without recursion: the nesting is the server's choice.
    stack: list[JsonValue] = [output]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if value.startswith(_FILE_PREFIXES):
                yield value
        elif isinstance(value, list):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))


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


def text_in(output: JsonValue) -> str | None:
    """The text in an output: a string, or a list of strings joined; ``None`` for anything else."""
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(isinstance(item, str) for item in output):
        return "".join(output)  # type: ignore[arg-type]  # all() above narrows no type
    return None


def text_of(prediction: PredictionSnapshot) -> str:
    """The text of a text model's output: tokens joined, a plain string, or empty.

    Raises:
        ResponseValidationError: the output is not text (a number, an object, a list of them).
    """
    output = prediction.output
    text = "" if output is None else text_in(output)
    if text is None:
        raise ResponseValidationError(
            f"Prediction {prediction.id} output is not text: {str(output)[:200]}",
            response=None,
            body=output,
        )
    return text


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


def build_result(
    kind: Kind | None,
    prediction: PredictionSnapshot,
    *,
    fetch: Fetch | None = None,
    afetch: AsyncFetch | None = None,
) -> TextResult | ImageResult | OutputResult:
    """The typed result of a succeeded prediction: by the catalog's kind, else `OutputResult`."""
    if kind is None and (spec := find(prediction.model or "")) is not None:
        kind = spec.kind
    if kind == "image":
        return ImageResult(image_urls(prediction), prediction, fetch=fetch, afetch=afetch)
    if kind == "text":
        return TextResult(text_of(prediction), prediction)
    return OutputResult(prediction, fetch=fetch, afetch=afetch)
