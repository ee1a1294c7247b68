"""Checks on what a server chose, before it becomes part of a request, a URL or a file.

Everything a server sends is data: an id, a URL, a redirect, the first bytes of a download. Each
check here turns it into a value we can use safely, or refuses it with `ValueError`, which the
caller turns into the SDK's typed error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import httpx

from ._shorten import MAX_QUOTED
from .catalog import MODEL_NAME

__all__ = [
    "MAX_URL_LENGTH",
    "PREDICTION_ID_PATTERN",
    "REPLICATE_HOSTS",
    "Trust",
    "check_model_name",
    "check_prediction_id",
    "check_version_id",
    "is_image",
    "parse_url",
]

PREDICTION_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
"""What a prediction id may look like: Replicate's are 26 lowercase base-32 characters. Ids go
into URL paths, so this leaves out ``/``, ``.``, ``%``, ``?``, ``#``, spaces and control
characters."""
_PREDICTION_ID = re.compile(PREDICTION_ID_PATTERN)


MAX_URL_LENGTH: Final = 64 * 1024
"""The longest URL we follow; ``data:`` URIs in outputs are decoded, not followed."""

REPLICATE_HOSTS: Final = ("api.replicate.com", "*.replicate.com", "*.replicate.net")
"""Where the official API's token may go by default, over https only: the API, and the hosts
that serve its event streams (``stream.replicate.com``, ``*.svc.*.replicate.net``)."""

_IMAGE_SIGNATURES: Final = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"BM",  # BMP
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
)


def check_prediction_id(value: str) -> str:
    """`value` if it can be a prediction id; raise `ValueError` otherwise."""
    if not _PREDICTION_ID.fullmatch(value):
        raise ValueError(
            f"{value[:MAX_QUOTED]!r} is not a prediction id (letters, digits, _ and -)"
        )
    return value


def check_version_id(value: str) -> str:
    """`value` if it can be a model version's id; raise `ValueError` otherwise.

    Replicate's are 64 hex digits; any id that a prediction id's rules allow is taken.
    """
    if not _PREDICTION_ID.fullmatch(value):
        raise ValueError(f"{value[:MAX_QUOTED]!r} is not a version id (letters, digits, _ and -)")
    return value


def check_model_name(value: str) -> str:
    """`value` if it is a model's ``owner/name``; raise `ValueError` otherwise."""
    if not MODEL_NAME.fullmatch(value):
        raise ValueError(f"a model is named 'owner/name', not {value[:MAX_QUOTED]!r}")
    return value


def parse_url(text: str, *, base: httpx.URL | None = None) -> httpx.URL:
    """An absolute ``http(s)`` URL from `text`, resolved against `base` when it is relative.

    Raises:
        ValueError: `text` is too long, does not parse, has no host, or another scheme.
    """
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"a URL of {len(text):,} characters is too long")
    try:
        url = base.join(text) if base is not None else httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise ValueError(f"{text[:MAX_QUOTED]!r} is not a valid URL ({exc})") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{text[:MAX_QUOTED]!r} is not an http(s) URL")
    return url


def is_image(head: bytes) -> bool:
    """Whether a file that starts with `head` (16 bytes or more, or all of it) is an image."""
    if head.startswith(_IMAGE_SIGNATURES):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    # AVIF and HEIF: an ISO media file whose brand says so.
    return head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1")


@dataclass(frozen=True, slots=True)
class Trust:
    """Where requests that carry the token may go.

    The API's own origin (scheme, host and port of `base_url`), and over https only, the hosts
    that match `hosts`: a name matches itself, and ``*.example.com`` matches its subdomains.
    """

    origin: tuple[str, str, int | None]
    hosts: tuple[str, ...]

    @classmethod
    def of(cls, base_url: str, hosts: Iterable[str]) -> Trust:
        """The trust for a client of `base_url` that also trusts `hosts`."""
        url = httpx.URL(base_url)
        return cls((url.scheme, url.host, url.port), tuple(host.lower() for host in hosts))

    def allows(self, url: httpx.URL) -> bool:
        """Whether a request to `url` may carry the token."""
        if (url.scheme, url.host, url.port) == self.origin:
            return True
        if url.scheme != "https" or url.port not in (None, 443):
            return False
        host = url.host.lower()
        return any(
            host.endswith(pattern[1:]) if pattern.startswith("*.") else host == pattern
            for pattern in self.hosts
        )
