"""Client configuration: defaults, environment variables, and validation, shared by both clients."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping

import httpx

from ._lifecycle import Lifecycle
from ._logs import logger
from ._protocols import Backend, WireProtocol
from ._protocols.homepage import DEFAULT_BASE_URL, HomepageProtocol
from ._protocols.official import DEFAULT_OFFICIAL_BASE_URL, OfficialProtocol
from ._retry import RetryPolicy
from ._version import __version__

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_WAIT_TIMEOUT", "configure"]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""Per-request HTTP timeout: a short connect, a generous read."""
DEFAULT_WAIT_TIMEOUT = 300.0
"""How long `wait()` and `generate_*()` wait for a prediction, in seconds."""
_CONNECT_TIMEOUT = 5.0


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


def configure(
    *,
    api_token: str | None,
    backend: Backend | None,
    base_url: str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    wait_timeout: float,
    poll_interval: float,
    headers: Mapping[str, str] | None,
    http_client: httpx.Client | httpx.AsyncClient | None,
) -> tuple[str, Lifecycle]:
    """Check a client's options, apply defaults, and build its lifecycle.

    The backend is `backend` when given; otherwise the official API when there is a token
    (`api_token` or ``$REPLICATE_API_TOKEN``), and the homepage when there is none.

    Returns the base URL in use and the lifecycle.
    """
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, not {max_retries}")
    if wait_timeout <= 0 or poll_interval <= 0:
        raise ValueError("wait_timeout and poll_interval must be positive numbers of seconds")
    if backend not in (None, "homepage", "official"):
        raise ValueError(f"backend must be 'homepage' or 'official', not {backend!r}")
    token = api_token or os.environ.get("REPLICATE_API_TOKEN") or None
    if backend is None:
        backend = "official" if token else "homepage"
    default_url = DEFAULT_OFFICIAL_BASE_URL if backend == "official" else DEFAULT_BASE_URL
    base_url = base_url or os.environ.get("REPLICATEHOME_BASE_URL") or default_url
    merged = httpx.Headers({"User-Agent": _user_agent(), "Accept": "application/json"})
    merged.update(headers or {})
    protocol: WireProtocol
    if backend == "official":
        if token is None:
            raise ValueError(
                "The official backend needs an API token: pass api_token= or set "
                "REPLICATE_API_TOKEN."
            )
        protocol = OfficialProtocol(base_url, merged, token)
    else:
        protocol = HomepageProtocol(base_url, merged)
    logger.info("Using the %s backend at %s", backend, base_url)
    lifecycle = Lifecycle(
        protocol,
        RetryPolicy(max_retries=max_retries, poll_interval=poll_interval),
        _http_timeout(timeout, http_client),
        wait_timeout,
    )
    return base_url, lifecycle
