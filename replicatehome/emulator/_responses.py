"""What both protocols' answers are made of: error bodies in each protocol's style, and links.

The homepage protocol answers errors with ``{"detail": ...}``; the official ``/v1`` API with
RFC 7807 problem details (``application/problem+json``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import InputProblem

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "base_url",
    "file_url",
    "input_problems",
    "is_official",
    "json_error",
    "problem",
]

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
"""The media type of problem details."""


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
