"""The ``/v1/files`` API: upload (multipart), get, list, delete, and download by signed link.

- ``POST /v1/files``: a ``multipart/form-data`` body with the file in the ``content`` part, and
  optional ``filename``, ``type`` and ``metadata`` (JSON text, or ``metadata[key]`` fields as
  form encoders send a dict) parts; 201 with the file object, 413 past
  `EmulatorConfig.max_upload_bytes`.
- ``GET /v1/files``, ``GET`` and ``DELETE /v1/files/{id}`` (204).
- ``GET /v1/files/{id}/download?owner=&expiry=&signature=``: the bytes, for a signature that is
  the base64 HMAC-SHA256 of ``"{owner} {id} {expiry}"`` keyed with
  `EmulatorConfig.files_secret`, an owner of `FILE_OWNER` and an expiry (Unix seconds) still
  ahead. The signature is the credential: no token is needed.

The multipart bodies are parsed here, from bytes already read and capped (``read_capped``):
Starlette parses forms only with python-multipart installed, and this API needs just this much,
so the emulator's extra stays two packages. What is not understood is refused with a 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._app import EmulatorApp
from ._requests import BodyError, parse_json_object, read_capped
from ._responses import base_url, page_body, paginate, parse_cursor, problem
from ._uploads import FILE_TTL, StoredFile

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "FILE_OWNER",
    "MAX_PARTS",
    "Part",
    "create",
    "delete",
    "download",
    "download_signature",
    "get",
    "list_files",
    "parse_multipart",
]

FILE_OWNER: Final = "emulator"
"""The account that owns every uploaded file, for download links."""

_MULTIPART_OVERHEAD: Final = 64 * 1024  # room for the other parts and the parts' headers
_MAX_FILENAME_BYTES: Final = 255
_MAX_TYPE_LENGTH: Final = 255
_DEFAULT_TYPE: Final = "application/octet-stream"

MAX_PARTS: Final = 64
"""The most parts a multipart body may have."""

_MAX_HEAD: Final = 8192  # bytes of headers per part
_BOUNDARY: Final = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_PARAM: Final = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def download_signature(secret: str, owner: str, file_id: str, expiry: int) -> str:
    """The ``signature`` of a download link: base64 HMAC-SHA256 of ``"{owner} {id} {expiry}"``."""
    message = f"{owner} {file_id} {expiry}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


async def create(app: EmulatorApp, request: Request) -> Response:
    """``POST /v1/files``."""
    limit = app.config.max_upload_bytes
    try:
        body = await read_capped(request, limit + _MULTIPART_OVERHEAD)
        parts = parse_multipart(request.headers.get("content-type", ""), body)
    except BodyError as error:
        return _too_large(request, limit) if error.status_code == 413 else _bad(request, error)
    except ValueError as error:
        return _bad(request, error)
    fields = {part.name: part for part in parts}
    content = fields.get("content")
    if content is None:
        return _bad(request, "The multipart body has no 'content' part.")
    if len(content.data) > limit:
        return _too_large(request, limit)
    try:
        filename = _filename(fields, content)
        content_type = _text(fields.get("type")) or content.content_type or _DEFAULT_TYPE
        if len(content_type) > _MAX_TYPE_LENGTH:
            raise ValueError(f"The type is longer than {_MAX_TYPE_LENGTH} characters.")
        metadata = _metadata(parts)
    except ValueError as error:
        return _bad(request, error)
    stored = app.uploads.add(
        content.data, content_type=content_type, filename=filename, metadata=metadata
    )
    return JSONResponse(_file_object(app, request, stored), status_code=201)


async def list_files(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/files``."""
    try:
        cursor = parse_cursor(request.query_params.get("cursor"))
    except ValueError:
        return problem(400, "Invalid cursor", "The cursor is not valid.", instance=_at(request))
    page = paginate(app.uploads.newest_first(), lambda f: f.seq, cursor)
    return JSONResponse(
        page_body(request.url, page, lambda stored: _file_object(app, request, stored))
    )


async def get(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/files/{id}``."""
    stored = app.uploads.get(request.path_params["file_id"])
    if stored is None:
        return _not_found(request)
    return JSONResponse(_file_object(app, request, stored))


async def delete(app: EmulatorApp, request: Request) -> Response:
    """``DELETE /v1/files/{id}``."""
    if not app.uploads.delete(request.path_params["file_id"]):
        return _not_found(request)
    return Response(status_code=204)


async def download(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/files/{id}/download?owner=&expiry=&signature=``: no token, a signature."""
    file_id = request.path_params["file_id"]
    query = request.query_params
    owner, expiry, signature = (
        query.get("owner"),
        query.get("expiry", ""),
        query.get("signature"),
    )
    if owner is None or signature is None or not expiry.isdigit() or len(expiry) > 12:
        return problem(
            400,
            "Bad request",
            "owner, expiry (Unix seconds) and signature are required.",
            instance=_at(request),
        )
    expected = download_signature(app.config.files_secret, owner, file_id, int(expiry))
    store = app.store
    valid = hmac.compare_digest(expected.encode(), signature.encode())
    if not valid or owner != FILE_OWNER or int(expiry) < store.wall(store.clock()):
        return problem(
            404,
            "Not found",
            "The download link is not valid: a wrong signature or owner, or it has expired.",
            instance=_at(request),
        )
    stored = app.uploads.get(file_id)
    if stored is None:
        return _not_found(request)
    # As uploaded: a media_type would get a charset added.
    return Response(stored.content, headers={"content-type": stored.content_type})


def _file_object(app: EmulatorApp, request: Request, stored: StoredFile) -> dict[str, JsonValue]:
    store = app.store
    return {
        "id": stored.id,
        "checksums": {"sha256": stored.sha256},
        "content_type": stored.content_type,
        "created_at": store.timestamp(stored.created),
        "expires_at": store.timestamp(stored.created + FILE_TTL),
        "metadata": stored.metadata,
        "size": len(stored.content),
        "urls": {"get": f"{base_url(request)}/v1/files/{stored.id}"},
    }


def _filename(fields: dict[str, Part], content: Part) -> str:
    filename = _text(fields.get("filename")) or content.filename or "file"
    if len(filename.encode()) > _MAX_FILENAME_BYTES:
        raise ValueError(f"The filename is longer than {_MAX_FILENAME_BYTES} bytes.")
    return filename


def _text(part: Part | None) -> str | None:
    """A text field's value; raises `ValueError` if it is not UTF-8."""
    if part is None:
        return None
    try:
        return part.data.decode()
    except UnicodeDecodeError:
        raise ValueError(f"The '{part.name}' field is not UTF-8 text.") from None


def _metadata(parts: list[Part]) -> JsonValue:
    """The ``metadata`` part as JSON, or the ``metadata[key]`` parts as an object; else ``{}``."""
    metadata: dict[str, JsonValue] = {}
    for part in parts:
        if part.name == "metadata":
            try:
                return parse_json_object(part.data)
            except BodyError:
                raise ValueError("The metadata is not a JSON object.") from None
        if part.name.startswith("metadata[") and part.name.endswith("]"):
            metadata[part.name[len("metadata[") : -1]] = _text(part)
    return metadata


def _at(request: Request) -> str:
    return request.url.path


def _bad(request: Request, error: Exception | str) -> Response:
    detail = error.detail if isinstance(error, BodyError) else str(error)
    return problem(400, "Bad request", detail, instance=_at(request))


def _too_large(request: Request, limit: int) -> Response:
    return problem(
        413,
        "Content too large",
        f"The file is larger than the emulator's limit of {limit} bytes.",
        instance=_at(request),
    )


def _not_found(request: Request) -> Response:
    return problem(
        404,
        "Not found",
        f"File {request.path_params['file_id']} not found",
        instance=_at(request),
    )


# --- multipart bodies ------------------------------------------------------------------------


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
