"""A ``multipart/form-data`` body, parsed from bytes already read and capped by the caller.

Starlette parses forms only with python-multipart installed; the Files API needs just this much,
so the emulator's extra stays two packages. Everything here works on the whole body in memory,
which ``read_capped`` has bounded, and refuses what it does not understand with a `ValueError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["MAX_PARTS", "Part", "parse_multipart"]

MAX_PARTS: Final = 64
"""The most parts a body may have."""

_MAX_HEAD: Final = 8192  # bytes of headers per part
_BOUNDARY: Final = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_PARAM: Final = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


@dataclass(frozen=True, slots=True)
class Part:
    """One part: its form field `name`, the `filename` and `content_type` it declares, its data."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _params(header: str) -> tuple[str, dict[str, str]]:
    """A header's value and its ``; key=value`` parameters (keys lowercased, quotes removed)."""
    value, _, rest = header.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(";" + rest):
        quoted, bare = match[2], match[3]
        text = bare if quoted is None else re.sub(r"\\(.)", r"\1", quoted)
        params[match[1].lower()] = text
    return value.strip().lower(), params


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of a ``multipart/form-data`` `body`, in order.

    Raises:
        ValueError: `content_type` is not ``multipart/form-data`` with a valid boundary, or the
            body is not well-formed: no closing delimiter, a part without headers or without a
            ``form-data`` name, more than `MAX_PARTS` parts.
    """
    media_type, params = _params(content_type)
    boundary = params.get("boundary", "")
    if media_type != "multipart/form-data" or not _BOUNDARY.fullmatch(boundary):
        raise ValueError("the body must be multipart/form-data with a boundary")
    # Every delimiter starts a line; the first one may be the very start of the body.
    segments = (b"\r\n" + body).split(b"\r\n--" + boundary.encode())
    if len(segments) < 2 or not segments[-1].startswith(b"--"):
        raise ValueError("the multipart body has no closing delimiter")
    if len(segments) - 2 > MAX_PARTS:
        raise ValueError(f"the multipart body has more than {MAX_PARTS} parts")
    return [_part(segment) for segment in segments[1:-1]]


def _part(segment: bytes) -> Part:
    # After the delimiter: optional whitespace, CRLF, headers, a blank line, then the data.
    line_end = segment.find(b"\r\n")
    if line_end < 0 or segment[:line_end].strip(b" \t"):
        raise ValueError("a multipart delimiter is followed by more than whitespace")
    head, separator, data = segment[line_end + 2 :].partition(b"\r\n\r\n")
    if not separator or len(head) > _MAX_HEAD:
        raise ValueError("a multipart part has no headers")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError("a multipart part has a malformed header")
        headers[name.strip().lower()] = value.strip()
    disposition, params = _params(headers.get("content-disposition", ""))
    if disposition != "form-data" or "name" not in params:
        raise ValueError("a multipart part has no form-data name")
    return Part(params["name"], params.get("filename"), headers.get("content-type"), data)
