"""Answers both protocols share: error bodies in each protocol's style, and injected faults.

The homepage protocol answers errors with ``{"detail": ...}``; the official ``/v1`` API with
RFC 7807 problem details (``application/problem+json``). Gateway errors are HTML pages on both,
since they come from a proxy in front of either.
"""

from __future__ import annotations

import http
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ..errors import InputProblem
from ._faults import Faults, RequestFault

__all__ = [
    "JSON_MEDIA_TYPES",
    "DroppedResponse",
    "base_url",
    "fault_response",
    "file_url",
    "input_problems",
    "is_official",
    "json_error",
    "problem",
]

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"

JSON_MEDIA_TYPES: Final = frozenset({"application/json", PROBLEM_MEDIA_TYPE})
"""The media types of JSON bodies, the ones `Faults.text_plain` relabels."""


def base_url(request: Request) -> str:
    """The URL `request` was sent to, without a trailing slash or a path.

    Answers link with absolute URLs built on it, so they work on whatever host and port the
    client used.
    """
    return str(request.base_url).rstrip("/")


def file_url(base: str) -> Callable[[str, str], str]:
    """Build absolute image URLs on `base` (the URL the client used, without a trailing slash)."""
    return lambda prediction_id, name: f"{base}/files/{prediction_id}/{name}"


def is_official(path: str) -> bool:
    """Whether `path` is the official API's, whose errors are problem details."""
    return path.startswith("/v1/")


def json_error(status_code: int, detail: str) -> JSONResponse:
    """A homepage-protocol error: ``{"detail": ...}``."""
    return JSONResponse({"detail": detail}, status_code=status_code)


def input_problems(problems: Iterable[InputProblem]) -> str:
    """An invalid input's problems, one line each: ``- input.steps: Input should be ...``.

    Both protocols' 422 details list them so; the messages are the SDK's own
    (`InputValidationError`), and say what the field allows.
    """
    return "\n".join(f"- input.{problem.field}: {problem.message}" for problem in problems)


def problem(
    status_code: int,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> JSONResponse:
    """An official-API error: an RFC 7807 problem details object.

    Args:
        status_code: The HTTP status, repeated in the body's ``status``.
        title: A short summary of the kind of problem, the same for every occurrence.
        detail: What went wrong this time.
        instance: The request path it happened on.
        headers: Extra response headers, like ``Retry-After``.
        extra: Extension members of the body, like ``invalid_fields``.
    """
    # "about:blank" is RFC 7807's type for problems with no page of their own.
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra or {})
    return JSONResponse(
        body, status_code=status_code, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def fault_response(
    fault: RequestFault,
    faults: Faults,
    *,
    instance: str,
    streaming: bool = False,
) -> Response:
    """The answer that injects `fault`, in the style of the protocol of path `instance`.

    Args:
        fault: The fault the dice picked.
        faults: The faults in force, for ``retry_after``.
        instance: The request path: whose error style a 429 follows, and a problem's
            ``instance``.
        streaming: The route is an event stream, so a drop cuts a stream of events.
    """
    if fault.kind == "rate_limit":
        seconds = faults.retry_after
        header = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        detail = f"Request was throttled. Your rate limit resets in ~{math.ceil(seconds)}s."
        headers = {"Retry-After": header}
        if is_official(instance):
            return problem(429, "Request was throttled", detail, instance=instance, headers=headers)
        return JSONResponse({"detail": detail}, status_code=429, headers=headers)
    if fault.kind == "server_error":
        title = f"{fault.status} {http.HTTPStatus(fault.status).phrase}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return HTMLResponse(page, status_code=fault.status)
    if streaming:
        return DroppedResponse(
            "text/event-stream", b"event: logs\nid: 1\ndata: Starting prediction\n\nevent: out"
        )
    return DroppedResponse("application/json", b'{"id": "', length=4096)


class DroppedResponse(Response):
    """Starts an answer, then hangs up mid-body, like a connection reset by a proxy.

    It sends `partial` and returns without ending the body: the server then closes the
    connection, and the client sees an incomplete message (``httpx.RemoteProtocolError``). With
    a `length`, the body promises that many bytes; without, it is chunked, like an event stream.
    """

    def __init__(self, media_type: str, partial: bytes, *, length: int | None = None) -> None:
        """Prepare the answer; nothing is sent until it is called."""
        headers = {"content-type": media_type}
        if length is not None:
            headers["content-length"] = str(length)
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)
        self._partial = partial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the headers and the partial body, then stop."""
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self._partial, "more_body": True})
