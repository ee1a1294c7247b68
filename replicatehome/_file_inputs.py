"""Files in a prediction's input: found, read once within a cap, then sent as URLs or data: URIs.

A file is a `pathlib.Path` (any `os.PathLike`), `bytes`, `bytearray`, `memoryview`, or a binary
file object (anything whose ``read(size)`` returns bytes), anywhere in the input: nested in
dicts, lists and tuples too. Everything else, strings included, is sent as it is.

Reading is the only I/O here. `read_files` reads every file of an input into memory, once and
within its cap, and puts an `InputFile` in its place, so a missing path, a text-mode file or a
file over the cap fails the call before anything is sent. The lifecycle then uploads each file
or inlines it (`InputFile.data_uri`), and `fill` puts what it got in the file's place.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeAlias, cast, get_args

from .errors import InputFileError, InputFileTooLargeError

__all__ = [
    "MAX_DATA_URI_BYTES",
    "MAX_UPLOAD_BYTES",
    "FileEncoding",
    "InputFile",
    "check_encoding",
    "fill",
    "read_files",
]

FileEncoding: TypeAlias = Literal["url", "data-uri"]
"""How files in an input go to the official API: uploaded (``"url"``) or inline (``"data-uri"``)."""
_ENCODINGS: Final[tuple[FileEncoding, ...]] = get_args(FileEncoding)

MAX_UPLOAD_BYTES: Final = 100 * 1024 * 1024
"""The largest file uploaded to the official API (100 MiB): the Files API's own limit ("Files
must be less than 100MB in size", it answers with a 413). A larger file fails before any request;
the server stays the judge of the files under it."""
MAX_DATA_URI_BYTES: Final = 10 * 1024 * 1024
"""The largest file sent inline as a ``data:`` URI (10 MiB, 13.3 MiB once in base64): the whole
file travels inside the JSON of the create request. Replicate advises data URIs for files under
1 MB; the cap is ten times that, so it stops a mistake (a video, say) without refusing a file a
server might take."""

_CHUNK: Final = 1024 * 1024
"""How much of a file object one ``read`` asks for."""
_MAX_FILENAME: Final = 255
"""The longest filename the Files API takes, in bytes of UTF-8."""
_UNNAMED: Final = "file"
_OCTET_STREAM: Final = "application/octet-stream"
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
"""Types that are never files nor hold any: most of an input, skipped at once."""

_Path: TypeAlias = tuple[object, ...]
"""Where a value is in the input: the keys and indexes that lead to it."""


class _Readable(Protocol):
    def read(self, size: int, /) -> object: ...


@dataclass(frozen=True, slots=True, eq=False)
class InputFile:
    """A file of the input, read: its bytes, the name and type it is sent with, and its place.

    Compared and hashed by identity: the same bytes at two places are two files.
    """

    data: bytes
    filename: str
    content_type: str
    where: str

    def data_uri(self) -> str:
        """The file as a ``data:<type>;base64,...`` URI."""
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def check_encoding(value: str) -> FileEncoding:
    """`value` if it names a file encoding; raise `ValueError` otherwise."""
    for encoding in _ENCODINGS:
        if value == encoding:
            return encoding
    raise ValueError(f"file_encoding must be {' or '.join(map(repr, _ENCODINGS))}, not {value!r}")


def read_files(
    input: Mapping[str, object], *, upload: bool
) -> tuple[dict[str, object], list[InputFile]]:
    """`input` with each file in it read into an `InputFile`, and those files in input order.

    `upload` says how the files will be sent, which sets their cap: `MAX_UPLOAD_BYTES`, or
    `MAX_DATA_URI_BYTES` inline. An `InputFile` already read is checked against the cap again.
    Parts of the input that hold no file are the very objects given.

    Raises:
        InputFileTooLargeError: a file is larger than its cap; no more than cap + 1 bytes of
            it were read.
        InputFileError: a file cannot be read, or does not read bytes.
        ValueError: the input contains itself.
    """
    if all(type(value) in _SCALARS for value in input.values()):
        return dict(input), []  # the usual input, text and numbers only: nothing to walk
    limit = MAX_UPLOAD_BYTES if upload else MAX_DATA_URI_BYTES
    files: list[InputFile] = []

    def read(value: object, path: _Path) -> InputFile:
        if isinstance(value, InputFile):
            _check_size(len(value.data), value.where, limit, upload)
            file = value
        else:
            file = _read(value, _where(path), limit, upload)
        files.append(file)
        return file

    return cast(dict[str, object], _map(dict(input), (), read, set())), files


def fill(input: dict[str, object], encoded: Callable[[InputFile], str]) -> dict[str, object]:
    """`input`, as `read_files` made it, with each `InputFile` replaced by ``encoded(file)``."""
    return cast(
        dict[str, object],
        _map(input, (), lambda file, _: encoded(cast(InputFile, file)), set()),
    )


def _map(
    value: object, path: _Path, convert: Callable[[object, _Path], object], seen: set[int]
) -> object:
    """`value` with each file in it replaced by ``convert(file, path)``; itself if it has none."""
    if isinstance(value, dict | list | tuple):
        if id(value) in seen:
            raise ValueError(f"{_where(path)} contains itself: an input must be a tree")
        seen.add(id(value))
        try:
            pairs = value.items() if isinstance(value, dict) else enumerate(value)
            mapped = [
                (key, item if type(item) in _SCALARS else _map(item, (*path, key), convert, seen))
                for key, item in pairs
            ]
        finally:
            seen.discard(id(value))
        old = value.values() if isinstance(value, dict) else value
        if all(new is item for (_, new), item in zip(mapped, old, strict=True)):
            return value
        return dict(mapped) if isinstance(value, dict) else [new for _, new in mapped]
    if _is_file(value):
        return convert(value, path)
    return value


def _is_file(value: object) -> bool:
    if isinstance(value, bytes | bytearray | memoryview | os.PathLike | InputFile):
        return True
    return type(value) not in _SCALARS and callable(getattr(value, "read", None))


def _where(path: _Path) -> str:
    return "input" + "".join(f"[{key!r}]" for key in path)


def _read(value: object, where: str, limit: int, upload: bool) -> InputFile:
    """Read one file of the input: bytes, a path, or a binary file object."""
    if isinstance(value, bytes | bytearray | memoryview):
        _check_size(memoryview(value).nbytes, where, limit, upload)
        # A copy of a mutable buffer, so that what is sent is what was passed.
        return InputFile(bytes(value), _UNNAMED, _OCTET_STREAM, where)
    if isinstance(value, os.PathLike):
        name = os.fsdecode(cast("os.PathLike[str]", value))
        try:
            with open(name, "rb") as file:
                # A regular file's size is known before reading; a pipe or device says 0.
                _check_size(os.fstat(file.fileno()).st_size, where, limit, upload)
                data = _read_stream(file, where, limit, upload)
        except OSError as exc:
            raise InputFileError(
                f"{where} cannot be read: {exc.strerror or exc} ({name!r})", where=where
            ) from exc
        return _named(data, name, where)
    if isinstance(value, io.TextIOBase):  # its read() would decode the bytes, or fail to
        raise _text_mode(where)
    data = _read_stream(cast(_Readable, value), where, limit, upload)
    given = getattr(value, "name", None)  # an int for a file opened from a descriptor
    return _named(data, os.fsdecode(given) if isinstance(given, str | bytes) else _UNNAMED, where)


def _read_stream(source: _Readable, where: str, limit: int, upload: bool) -> bytes:
    """All of `source` from where it is, reading no more than `limit` + 1 bytes."""
    # BytesIO grows one buffer and hands it over in getvalue() without a copy, so a file
    # costs its size in memory once, not twice as joining chunks would.
    buffer = io.BytesIO()
    size = 0
    while True:
        try:
            chunk = source.read(min(_CHUNK, limit + 1 - size))
        except (OSError, ValueError, TypeError) as exc:  # closed, unreadable, no read(size)
            raise InputFileError(f"{where} cannot be read: {exc}", where=where) from exc
        if isinstance(chunk, str):
            raise _text_mode(where)
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise InputFileError(
                f"{where}.read() returned {type(chunk).__name__}, not bytes "
                "(a non-blocking stream with nothing to read returns None).",
                where=where,
            )
        if not chunk:
            return buffer.getvalue()
        size += buffer.write(chunk)
        if size > limit:
            raise _too_large(where, limit, upload, None)


def _text_mode(where: str) -> InputFileError:
    return InputFileError(
        f"{where} is a file opened in text mode: open it with 'rb', or pass its Path.",
        where=where,
    )


def _named(data: bytes, name: str, where: str) -> InputFile:
    """An `InputFile` named after the last part of `name`, typed by its suffix."""
    # Lone surrogates (an undecodable name on disk) become "?"; the end keeps the suffix.
    encoded = os.path.basename(name).encode("utf-8", "replace")[-_MAX_FILENAME:]
    filename = encoded.decode("utf-8", "ignore") or _UNNAMED
    content_type, compression = mimetypes.guess_type(filename)
    # "a.tar.gz" guesses a tar archive compressed with gzip: its bytes are not a tar.
    if content_type is None or compression is not None:
        content_type = _OCTET_STREAM
    return InputFile(data, filename, content_type, where)


def _check_size(size: int, where: str, limit: int, upload: bool) -> None:
    if size > limit:
        raise _too_large(where, limit, upload, size)


def _too_large(where: str, limit: int, upload: bool, size: int | None) -> InputFileTooLargeError:
    held = "holds more than" if size is None else f"holds {size:,} bytes, more than"
    if upload:
        how = "the most the official API takes as an upload"
        advice = "Host the file elsewhere and pass its URL as a string."
    else:
        how = "the most sent inline as a data: URI"
        advice = (
            f"On the official API, file_encoding='url' (the default) uploads files of up to "
            f"{_mib(MAX_UPLOAD_BYTES)}; or host the file and pass its URL as a string."
        )
    return InputFileTooLargeError(
        f"{where} {held} {_mib(limit)}, {how}. {advice}", where=where, limit=limit
    )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"
