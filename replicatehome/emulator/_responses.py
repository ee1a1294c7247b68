"""What answers are made of: error bodies in each protocol's style, links, and cursor pages.

The homepage protocol answers errors with ``{"detail": ...}``; the official ``/v1`` API with
RFC 7807 problem details (``application/problem+json``).

``/v1`` lists answer in cursor pages, ``{"next", "previous", "results"}``, newest first. Items
carry a sequence number that grows in creation order. A cursor is opaque to clients: the base64
of ``before:<seq>`` (the page of items older than that one) or ``after:<seq>`` (the page of items
newer than it, for ``previous``). The ``next`` and ``previous`` links are absolute URLs of the
same request with another cursor, so any other query parameter (a filter) is kept.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, Literal, TypeVar

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import InputProblem

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "PAGE_SIZE",
    "PROBLEM_MEDIA_TYPE",
    "Cursor",
    "Page",
    "base_url",
    "file_url",
    "input_problems",
    "is_official",
    "json_error",
    "page_body",
    "paginate",
    "parse_cursor",
    "problem",
]

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
"""The media type of problem details."""

PAGE_SIZE: Final = 100
"""Items per page, as on Replicate."""

_MAX_CURSOR: Final = 64
_DECODED: Final = re.compile(r"(before|after):([0-9]{1,15})")

T = TypeVar("T")


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


# --- cursor pages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: just `before` or just `after` the item numbered `seq`."""

    direction: Literal["before", "after"]
    seq: int

    def encode(self) -> str:
        """The cursor as sent in a URL."""
        raw = f"{self.direction}:{self.seq}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(text: str | None) -> Cursor | None:
    """The cursor a ``cursor`` query parameter holds; ``None`` for none (the first page).

    Raises:
        ValueError: the text is not a cursor this emulator made.
    """
    if text is None:
        return None
    if not 0 < len(text) <= _MAX_CURSOR or not text.isascii():
        raise ValueError("invalid cursor")
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("invalid cursor") from None
    match = _DECODED.fullmatch(decoded)
    if match is None:
        raise ValueError("invalid cursor")
    direction: Literal["before", "after"] = "before" if match[1] == "before" else "after"
    return Cursor(direction, int(match[2]))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of items, newest first, and the cursors of the pages around it, if any."""

    items: Sequence[T]
    next: Cursor | None
    previous: Cursor | None


def paginate(
    newest_first: Sequence[T],
    seq: Callable[[T], int],
    cursor: Cursor | None,
    size: int = PAGE_SIZE,
) -> Page[T]:
    """Cut the page `cursor` points at out of `newest_first`, whose `seq` decreases."""
    if cursor is None:
        start = 0
    elif cursor.direction == "before":
        older = (i for i, item in enumerate(newest_first) if seq(item) < cursor.seq)
        start = next(older, len(newest_first))
    else:
        newer = sum(1 for item in newest_first if seq(item) > cursor.seq)
        start = max(0, newer - size)
    items = newest_first[start : start + size]
    if not items:
        return Page(items, None, None)
    more = start + size < len(newest_first)
    return Page(
        items,
        Cursor("before", seq(items[-1])) if more else None,
        Cursor("after", seq(items[0])) if start > 0 else None,
    )


def page_body(url: URL, page: Page[T], render: Callable[[T], JsonValue]) -> dict[str, JsonValue]:
    """The page as JSON; `url` is the request's, whose other query parameters the links keep."""

    def link(cursor: Cursor | None) -> str | None:
        return None if cursor is None else str(url.include_query_params(cursor=cursor.encode()))

    return {
        "next": link(page.next),
        "previous": link(page.previous),
        "results": [render(item) for item in page.items],
    }
