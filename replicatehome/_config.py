"""Client configuration: defaults, environment variables, and validation, shared by both clients."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Mapping
from typing import TypedDict

import httpx

from ._backends import BackendName, check_backend
from ._body import ACCEPT_ENCODING
from ._file_inputs import FileEncoding, check_encoding
from ._history import PollStats
from ._lifecycle import Lifecycle, Limits
from ._logs import logger, setup_from_env
from ._protocols import WireProtocol
from ._protocols.homepage import DEFAULT_BASE_URL, HomepageProtocol
from ._protocols.official import DEFAULT_OFFICIAL_BASE_URL, OfficialProtocol
from ._retry import RetryPolicy
from ._untrusted import REPLICATE_HOSTS, Trust
from ._version import __version__

__all__ = [
    "DEFAULT_FILE_ENCODING",
    "DEFAULT_LIMITS",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WAIT_TIMEOUT",
    "ClientOptions",
    "configure",
]

_CONNECT_TIMEOUT = 5.0
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=_CONNECT_TIMEOUT)
"""Per-request HTTP timeout: a short connect, a generous read."""
DEFAULT_WAIT_TIMEOUT = 300.0
"""How long `wait()` and `generate_*()` wait for a prediction, in seconds."""
DEFAULT_LIMITS = Limits(response=16 * 1024 * 1024, event=1024 * 1024, download=256 * 1024 * 1024)
"""The most a client holds of one answer (16 MiB), one stream event (1 MiB), one file (256 MiB)."""
DEFAULT_RETRY = RetryPolicy()
"""Retries and polls: 2 retries of a request from a 0.5 s back-off, polls at most 1 s apart."""
DEFAULT_FILE_ENCODING: FileEncoding = "url"
"""Files in an input are uploaded to the official API, and their URLs sent."""


def _user_agent() -> str:
    python = ".".join(platform.python_version_tuple()[:2])
    return f"replicatehome/{__version__} python/{python} httpx/{httpx.__version__}"


def _http_timeout(
    timeout: float | httpx.Timeout | None, http_client: httpx.Client | httpx.AsyncClient | None
) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is not None:
        return httpx.Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT))
    return http_client.timeout if http_client is not None else DEFAULT_TIMEOUT


class ClientOptions(TypedDict):
    """A client's options as given, kept so that `with_options` can change some of them."""

    api_token: str | None
    backend: BackendName | None
    base_url: str | None
    timeout: float | httpx.Timeout | None
    max_retries: int
    retry_backoff: float
    wait_timeout: float
    poll_interval: float
    headers: Mapping[str, str] | None
    http_client: httpx.Client | httpx.AsyncClient | None
    max_response_bytes: int
    max_event_bytes: int
    max_download_bytes: int
    trusted_hosts: Iterable[str] | None
    file_encoding: FileEncoding


def configure(
    *,
    api_token: str | None,
    backend: BackendName | None,
    base_url: str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    wait_timeout: float,
    retry_backoff: float,
    poll_interval: float,
    headers: Mapping[str, str] | None,
    http_client: httpx.Client | httpx.AsyncClient | None,
    max_response_bytes: int,
    max_event_bytes: int,
    max_download_bytes: int,
    trusted_hosts: Iterable[str] | None,
    file_encoding: FileEncoding,
    history: PollStats | None = None,
) -> tuple[str, Lifecycle]:
    """Check a client's options, apply defaults, and build its lifecycle.

    The backend is `backend` when given; otherwise the official API when there is a token
    (`api_token` or ``$REPLICATE_API_TOKEN``), and the homepage when there is none.

    The lifecycle learns from past runs in `history`, a new `PollStats` when it is ``None``.

    Returns the base URL in use and the lifecycle.
    """
    setup_from_env()  # here, not at import: the environment a client is made in decides
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, not {max_retries}")
    if not 0 < retry_backoff < float("inf"):
        raise ValueError(f"retry_backoff must be a positive number of seconds, not {retry_backoff}")
    if wait_timeout <= 0 or poll_interval <= 0:
        raise ValueError("wait_timeout and poll_interval must be positive numbers of seconds")
    limits = Limits(max_response_bytes, max_event_bytes, max_download_bytes)
    if min(limits.response, limits.event, limits.download) <= 0:
        raise ValueError("max_response_bytes, max_event_bytes and max_download_bytes must be > 0")
    file_encoding = check_encoding(file_encoding)
    if isinstance(trusted_hosts, str):
        raise TypeError("trusted_hosts takes a list of host names, such as ['*.example.com']")
    if backend is not None:
        backend = check_backend(backend, "backend")
    token = api_token or os.environ.get("REPLICATE_API_TOKEN") or None
    if backend is None:
        backend = "official" if token else "homepage"
    default_url = DEFAULT_OFFICIAL_BASE_URL if backend == "official" else DEFAULT_BASE_URL
    base_url = base_url or os.environ.get("REPLICATEHOME_BASE_URL") or default_url
    merged = httpx.Headers(
        {
            "User-Agent": _user_agent(),
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
    )
    merged.update(headers or {})
    protocol: WireProtocol
    if backend == "official":
        if token is None:
            raise ValueError(
                "The official backend needs an API token: pass api_token= or set "
                "REPLICATE_API_TOKEN."
            )
        if trusted_hosts is None:
            # Replicate's own stream hosts, only when talking to Replicate itself.
            trusted_hosts = (
                REPLICATE_HOSTS if base_url.rstrip("/") == DEFAULT_OFFICIAL_BASE_URL else ()
            )
        protocol = OfficialProtocol(base_url, merged, token, Trust.of(base_url, trusted_hosts))
    else:
        protocol = HomepageProtocol(base_url, merged)
    logger.info("Using the %s backend at %s", backend, base_url)
    lifecycle = Lifecycle(
        protocol,
        RetryPolicy(max_retries=max_retries, poll_interval=poll_interval, backoff=retry_backoff),
        _http_timeout(timeout, http_client),
        wait_timeout,
        limits,
        file_encoding=file_encoding,
        history=history,
    )
    return base_url, lifecycle
