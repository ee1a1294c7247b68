"""Client configuration: defaults, environment variables, and validation, shared by both clients."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping

import httpx

from ._lifecycle import Lifecycle
from ._protocols.homepage import DEFAULT_BASE_URL, HomepageProtocol
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
    base_url: str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    wait_timeout: float,
    poll_interval: float,
    headers: Mapping[str, str] | None,
    http_client: httpx.Client | httpx.AsyncClient | None,
) -> tuple[str, Lifecycle]:
    """Check a client's options, apply defaults, and build its lifecycle.

    Returns the base URL in use and the lifecycle.
    """
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, not {max_retries}")
    if wait_timeout <= 0 or poll_interval <= 0:
        raise ValueError("wait_timeout and poll_interval must be positive numbers of seconds")
    base_url = base_url or os.environ.get("REPLICATEHOME_BASE_URL") or DEFAULT_BASE_URL
    merged = httpx.Headers({"User-Agent": _user_agent(), "Accept": "application/json"})
    merged.update(headers or {})
    lifecycle = Lifecycle(
        HomepageProtocol(base_url, merged),
        RetryPolicy(max_retries=max_retries, poll_interval=poll_interval),
        _http_timeout(timeout, http_client),
        wait_timeout,
    )
    return base_url, lifecycle
