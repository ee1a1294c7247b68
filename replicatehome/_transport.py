"""The blocking HTTP client the SDK makes for itself, whose every socket read obeys a deadline.

httpx's timeouts bound each read, not a call: a server that sends one byte just before each read
timeout keeps a request alive for ever. The async driver wraps each step in `asyncio.timeout`.
A blocking read cannot be interrupted like that, so the sync client's connections read through
`_DeadlineStream`, which gives each read, write and connect only the time left before the
deadline that `deadline_scope` set for the current thread.

An `httpx.Client` of the caller's own does not get this: the sync driver then checks the
deadline between chunks only (see ``docs/security.md``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import httpcore

__all__ = ["deadline_scope", "sync_http_client"]

_until: ContextVar[float | None] = ContextVar("replicatehome_until", default=None)


@contextmanager
def deadline_scope(seconds: float) -> Iterator[None]:
    """Let socket reads of this thread's `sync_http_client` run `seconds` from now at most."""
    token = _until.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _until.reset(token)


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout`, cut to the time left before the deadline; raise `expired` once it has passed."""
    until = _until.get()
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:  # a socket timeout of 0 would mean "non-blocking", not "no time"
        raise expired("the call's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """An httpcore network stream whose every operation ends by the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, errors: _Errors) -> None:
        self._inner = inner
        self._errors = errors

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, self._errors.read))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, self._errors.write))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _DeadlineStream:
        tls = self._inner.start_tls(
            ssl_context, server_hostname, _left(timeout, self._errors.connect)
        )
        return _DeadlineStream(tls, self._errors)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Errors:
    def __init__(self) -> None:
        import httpcore

        self.read = httpcore.ReadTimeout
        self.write = httpcore.WriteTimeout
        self.connect = httpcore.ConnectTimeout


class _DeadlineBackend:
    """An httpcore network backend whose streams are `_DeadlineStream`s."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner
        self._errors = _Errors()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> _DeadlineStream:
        left = _left(timeout, self._errors.connect)
        stream = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream, self._errors)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> _DeadlineStream:
        left = _left(timeout, self._errors.connect)
        stream = self._inner.connect_unix_socket(path, left, socket_options)
        return _DeadlineStream(stream, self._errors)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def sync_http_client() -> httpx.Client:
    """A new `httpx.Client` (proxies from the environment included) that obeys `deadline_scope`."""
    client = httpx.Client()
    # httpx offers no way to pass a network backend to its transports: put ours into each
    # connection pool before it opens a connection. `test_hostile` fails if this stops working.
    for transport in (
        getattr(client, "_transport", None),
        *getattr(client, "_mounts", {}).values(),
    ):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None:
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return client
