"""How the SDK sends: the HTTP clients it makes for itself, and the senders the drivers use.

`SyncSender` and `AsyncSender` open a request and read its body raw for the drivers, and hold
the policy of how:

- the lifecycle follows redirects itself, carrying the token only to trusted hosts, so no
  sender lets httpx follow one;
- the SDK's own clients send straight through their transport (`direct_transport`):
  `httpx.Client.send` spends about a third of a request's CPU on an auth flow, a cookie jar,
  event hooks and a redirect loop, none of which they use;
- a client the caller passes goes through its `send`, so that its own auth, hooks and cookies
  still apply;
- the SDK's own async client has at most `IN_FLIGHT` requests open at once.

httpx's timeouts bound each read, not a call: a server that sends one byte just before each read
timeout keeps a request alive for ever. The async driver wraps each step in `asyncio.timeout`.
A blocking read cannot be interrupted like that, so the sync client's connections read through
`_DeadlineStream`, which gives each read, write and connect only the time left before the
deadline that `deadline_scope` set for the current thread.

An `httpx.Client` of the caller's own does not get this: the sync driver then checks the
deadline between chunks only (see ``docs/security.md``).
"""

from __future__ import annotations

import functools
import select
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast, overload

import httpx

if TYPE_CHECKING:
    import httpcore

__all__ = [
    "IN_FLIGHT",
    "AsyncSender",
    "SyncSender",
    "async_http_client",
    "deadline_scope",
    "direct_transport",
    "sync_http_client",
]

IN_FLIGHT = 64
"""Requests the SDK's own async client sends at once (httpx's default pool size); the rest wait
their turn in the driver, where waiting costs nothing, rather than in httpcore's queue, which it
rescans for each request that starts or ends."""

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


def _wrap_backends(client: httpx.Client | httpx.AsyncClient, wrap: Callable[[Any], object]) -> None:
    # httpx offers no way to pass a network backend to its transports: put ours into each
    # connection pool before it opens a connection. tests/hostile/ fails if this stops working.
    for transport in (
        getattr(client, "_transport", None),
        *getattr(client, "_mounts", {}).values(),
    ):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None:
            pool._network_backend = wrap(backend)  # type: ignore[union-attr]


@functools.cache
def tls_settings() -> ssl.SSLContext:
    """The TLS settings of every client the SDK makes: httpx's defaults, built once per process.

    Building them loads the ~150 CA certificates of certifi (or ``SSL_CERT_FILE``/``SSL_CERT_DIR``,
    read at the first build), about 40 ms of CPU that each new client paid before. A context is
    safe to share between clients and threads.
    """
    return httpx.create_ssl_context()


def sync_http_client() -> httpx.Client:
    """A new `httpx.Client` (proxies from the environment included) that obeys `deadline_scope`."""
    client = httpx.Client(verify=tls_settings())
    _wrap_backends(client, _DeadlineBackend)
    return client


def _is_readable(sock: socket.socket) -> bool:
    # What httpcore asks of an idle pooled connection: has the server closed it (or sent junk)?
    if sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _ReadableStream:
    """An httpcore async stream that answers ``is_readable`` from its socket, found once.

    httpcore asks it of each idle connection in the pool, for every request that starts or
    ends; anyio builds a map of all the socket's attributes for each answer, which took most of
    the CPU time of a thousand concurrent predictions.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _ReadableStream:
        return _ReadableStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _is_readable(self._socket)
        return self._inner.get_extra_info(info)


class _ReadableBackend:
    """An httpcore async network backend whose streams are `_ReadableStream`s."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> _ReadableStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _ReadableStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> _ReadableStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return _ReadableStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def async_http_client() -> httpx.AsyncClient:
    """A new `httpx.AsyncClient` that keeps alive as many connections as `IN_FLIGHT` sends."""
    client = httpx.AsyncClient(
        verify=tls_settings(),
        limits=httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT),
    )
    _wrap_backends(client, _ReadableBackend)
    return client


@overload
def direct_transport(http: httpx.Client, url: httpx.URL) -> httpx.BaseTransport: ...
@overload
def direct_transport(http: httpx.AsyncClient, url: httpx.URL) -> httpx.AsyncBaseTransport: ...
def direct_transport(
    http: httpx.Client | httpx.AsyncClient, url: httpx.URL
) -> httpx.BaseTransport | httpx.AsyncBaseTransport:
    """The transport `http` would send a request for `url` through: a proxy's, or its own.

    Raises:
        RuntimeError: `http` is closed, as `httpx.Client.send` would.
    """
    if http.is_closed:
        raise RuntimeError("Cannot send a request, as the client has been closed.")
    # Private, but the one place httpx picks a mount (a proxy from the environment) for a URL;
    # tests/hostile/test_transport.py fails if it changes.
    return http._transport_for_url(url)


def _forget_unconnected(transport: object) -> None:
    """Drop from `transport`'s pool the new connections no request holds any more.

    httpcore gives a waiting request a new connection before the request takes it; a cancel
    that lands in between leaves the connection in the pool for good, never connected, so
    neither usable nor idle (encode/httpcore#1099): each such cancel would cost the pool one of
    its connections. Private state, read defensively: a test against the emulator
    (``test_a_cancel_inside_httpcore_leaves_the_pool_whole``) fails if it changes.
    """
    pool = getattr(transport, "_pool", None)
    connections = getattr(pool, "_connections", None)
    requests = getattr(pool, "_requests", None)
    if not isinstance(connections, list) or not isinstance(requests, list):
        return
    held = {id(getattr(waiting, "connection", None)) for waiting in requests}
    for connection in list(connections):
        info = getattr(connection, "info", None)
        if id(connection) not in held and callable(info) and info() == "CONNECTING":
            connections.remove(connection)


def _raw(response: httpx.Response) -> Iterator[bytes]:
    # A transport that built its response from bytes (httpx.MockTransport) has read it already.
    return iter((response.content,)) if response.is_stream_consumed else response.iter_raw()


async def _araw(response: httpx.Response) -> AsyncIterator[bytes]:
    if response.is_stream_consumed:
        yield response.content
    else:
        async for chunk in response.aiter_raw():
            yield chunk


class SyncSender:
    """How `Client` opens a request and reads its body: through `http`.

    With `direct` (the SDK's own client), requests skip `httpx.Client.send` (see
    `direct_transport`), and the transport's stream is read as it is.
    """

    def __init__(self, http: httpx.Client, *, direct: bool) -> None:
        self.http = http
        self._direct = direct

    @classmethod
    def of(cls, http: httpx.Client | None) -> SyncSender:
        """Through the caller's client `http`; without one, directly through the SDK's own."""
        if http is None:
            return cls(sync_http_client(), direct=True)
        return cls(http, direct=False)

    def open(self, request: httpx.Request) -> httpx.Response:
        """Send `request`; return the response, its body unread."""
        if not self._direct:
            return self.http.send(request, stream=True, follow_redirects=False)
        response = direct_transport(self.http, request.url).handle_request(request)
        response.request = request
        return response

    def chunks(self, response: httpx.Response) -> Iterator[bytes]:
        """The raw chunks of the body of `response`, which `open` returned."""
        if self._direct:
            # The transport's stream itself: `iter_raw` adds bookkeeping the SDK has no use for.
            return iter(cast(httpx.SyncByteStream, response.stream))
        return _raw(response)


class AsyncSender:
    """How `AsyncClient` opens a request and reads its body: through `http`.

    With `direct` (the SDK's own client), requests skip `httpx.AsyncClient.send` (see
    `direct_transport`), and at most `IN_FLIGHT` are open at once: the others wait for a slot,
    within the deadline the driver keeps.
    """

    def __init__(self, http: httpx.AsyncClient, *, direct: bool) -> None:
        import asyncio  # here: a script using only `Client` never imports asyncio

        self.http = http
        self._direct = direct
        self._slots = asyncio.Semaphore(IN_FLIGHT) if direct else None
        self._closing: set[asyncio.Future[None]] = set()

    @classmethod
    def of(cls, http: httpx.AsyncClient | None) -> AsyncSender:
        """Through the caller's client `http`; without one, directly through the SDK's own."""
        if http is None:
            return cls(async_http_client(), direct=True)
        return cls(http, direct=False)

    async def open(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, once a slot is free; return the response, its body unread."""
        if self._slots is None:
            return await self._send(request)
        await self._slots.acquire()
        try:
            return await self._send(request)
        except BaseException:
            self._slots.release()
            raise

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            if not self._direct:
                return await self.http.send(request, stream=True, follow_redirects=False)
            response = await direct_transport(self.http, request.url).handle_async_request(request)
        except BaseException:
            if not self.http.is_closed:
                _forget_unconnected(direct_transport(self.http, request.url))
            raise
        response.request = request
        return response

    def chunks(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The raw chunks of the body of `response`, which `open` returned."""
        if self._direct:
            # The transport's stream itself: `aiter_raw` adds bookkeeping the SDK has no use for.
            return aiter(cast(httpx.AsyncByteStream, response.stream))
        return _araw(response)

    async def close(self, response: httpx.Response) -> None:
        """Close `response`, and free its slot: once per `open`, read to its end or not.

        The close runs to its end even when the caller is cancelled meanwhile. httpcore marks a
        response closed before it hands the connection back to its pool, so a cancel landing
        in between would keep the connection checked out for good (encode/httpcore#1093); once
        the pool is full of those, every request waits for one until its deadline.
        """
        import asyncio

        closing = asyncio.ensure_future(self._close(response))
        self._closing.add(closing)  # the event loop keeps only a weak reference to a task
        closing.add_done_callback(self._closing.discard)
        await asyncio.shield(closing)

    async def _close(self, response: httpx.Response) -> None:
        try:
            await response.aclose()
        finally:
            if self._slots is not None:
                self._slots.release()
