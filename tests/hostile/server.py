"""A hostile HTTP/1.1 server: raw asyncio on 127.0.0.1, answering each request as a test scripts.

It runs its own event loop in a thread, so both `Client` and `AsyncClient` can talk to it. Every
behaviour ends by itself (`MAX_SECONDS`, `MAX_BYTES`), and `stop()` cancels what is left, so no
test can leave it running.
"""

from __future__ import annotations

import asyncio
import functools
import json
import struct
import threading
import time
import urllib.parse
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

MAX_SECONDS = 20.0
"""The longest any scripted answer goes on: past it, the server hangs up."""
MAX_BYTES = 4 << 30
"""The most an endless body sends."""
_MAX_REQUESTS_PER_CONNECTION = 1000


@dataclass(frozen=True)
class Request:
    """One request as the server received it, and when (`time.monotonic`)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def path(self) -> str:
        """The target without its query."""
        return self.target.partition("?")[0]

    @property
    def query(self) -> dict[str, str]:
        """The query's fields."""
        return dict(urllib.parse.parse_qsl(self.target.partition("?")[2]))


Answer = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]
"""Writes the answer to a request; returns whether the connection may serve another."""


@dataclass
class HostileServer:
    """Serves `routes`: the last route whose method and path prefix match answers."""

    routes: list[tuple[str, str, Answer]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: dict[asyncio.Task[None], asyncio.StreamWriter] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, prefix: str, answer: Answer) -> None:
        """Answer requests for `method` and paths starting with `prefix` with `answer`."""
        self.routes.append((method, prefix, answer))

    def sent(self, method: str, prefix: str) -> list[Request]:
        """The requests received for `method` and paths starting with `prefix`."""
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def start(self) -> None:
        """Listen on a free loopback port, in a thread of its own."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        async def main() -> asyncio.Server:
            server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            return server

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(main())
                ready.set()
                loop.run_forever()
            finally:
                loop.close()  # here, in its own thread, once nothing runs on it

        self._loop = loop
        self._thread = threading.Thread(target=run, name="hostile-server", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("the hostile server did not start")

    def stop(self) -> None:
        """Hang up on every connection and stop the loop."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            self._server.close()
            for task in list(self._tasks):
                # Hang up as well: Python 3.11's wait_for can swallow a cancel that races a result.
                self._writers[task].transport.abort()
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        # run_coroutine_threadsafe holds the task: asyncio itself keeps only a weak reference.
        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        if thread.is_alive():
            raise RuntimeError("the hostile server did not stop within 10 s")

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers[task] = writer
        try:
            for _ in range(_MAX_REQUESTS_PER_CONNECTION):
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                answer = self._answer_for(request)
                if not await asyncio.wait_for(answer(request, writer), MAX_SECONDS):
                    return
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            return  # the client hung up, or the script ran out: either ends the connection
        except asyncio.CancelledError:
            return  # `stop()`: ending quietly keeps asyncio from logging the cancellation
        finally:
            self._tasks.discard(task)
            self._writers.pop(task, None)
            writer.close()

    def _answer_for(self, request: Request) -> Answer:
        for method, prefix, answer in reversed(self.routes):
            if request.method == method and request.path.startswith(prefix):
                return answer
        return respond(404, {"detail": "no such route"})


@contextmanager
def running() -> Iterator[HostileServer]:
    """A started server, stopped when the block ends."""
    server = HostileServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    line, *fields = head.decode("latin-1").split("\r\n")
    method, target, _ = line.split(" ", 2)
    headers = {}
    for text in fields:
        name, colon, value = text.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, target, headers, body, time.monotonic())


def _head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} Scripted"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --- scripted answers -----------------------------------------------------------------------


def respond(
    status: int, body: object, headers: Iterable[tuple[str, str]] = (), *, raw: bool = False
) -> Answer:
    """A whole answer: `body` as JSON (or as bytes with `raw`), keep-alive."""
    data = body if raw and isinstance(body, bytes) else json.dumps(body).encode()

    async def answer(request: Request, writer: asyncio.StreamWriter) -> bool:
        all_headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        writer.write(_head(status, [*all_headers, *headers]))
        view = memoryview(data)
        for start in range(0, len(data), 65536):  # in pieces: the server's memory counts too
            writer.write(view[start : start + 65536])
            await writer.drain()
        return True

    return answer


def answers(*scripts: Answer) -> Answer:
    """Each request gets the next script; the last one repeats."""
    queue = list(scripts)

    async def answer(request: Request, writer: asyncio.StreamWriter) -> bool:
        script = queue.pop(0) if len(queue) > 1 else queue[0]
        return await script(request, writer)

    return answer


def trickle(
    interval: float,
    *,
    headers_too: bool = False,
    prefix: bytes = b'{"id": "p1", "status": "processing", "output": "',
    content_type: str = "application/json",
) -> Answer:
    """A 200 whose body (and with `headers_too`, whose headers) come a byte per `interval`.

    The body is `prefix` and then ``x`` for ever, or as long as `MAX_SECONDS` allows.
    """

    async def answer(request: Request, writer: asyncio.StreamWriter) -> bool:
        head = _head(200, [("Content-Type", content_type), ("Content-Length", "1000000")])
        if not headers_too:
            writer.write(head)
            head = b""
        for byte in head + prefix + b"x" * 1_000_000:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(interval)
        return False

    return answer


def stall(after: float) -> Answer:
    """A 200 that sends its headers and a start at once, one more byte `after` seconds later,
    and then nothing: the read after that byte waits as long as the client lets it."""

    async def answer(request: Request, writer: asyncio.StreamWriter) -> bool:
        head = _head(200, [("Content-Type", "application/json"), ("Content-Length", "1000")])
        writer.write(head + b'{"id": "p1", "status": "processing", "output": "')
        await writer.drain()
        await asyncio.sleep(after)
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(MAX_SECONDS)
        return False

    return answer


def endless(piece: bytes = b"x" * 65536, content_type: str = "application/json") -> Answer:
    """A 200 whose body never ends, sent as fast as the client reads."""

    async def answer(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(_head(200, [("Content-Type", content_type), ("Connection", "close")]))
        for _ in range(MAX_BYTES // len(piece)):
            writer.write(piece)
            await writer.drain()
        return False

    return answer


@cache
@functools.cache  # a gibibyte's CRC takes ~0.4 s of CPU: once per test process
def gzip_bomb(size: int = 1 << 30) -> bytes:
    """`size` zero bytes (a whole number of MiB), gzip-compressed to about a thousandth.

    Built from one compressed MiB repeated: a full flush makes every block alike.
    """
    mib = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return header + block * (size >> 20) + packer.flush() + trailer


def bomb(content_type: str = "application/json") -> Answer:
    """A small gzip body that inflates to a gibibyte."""
    data = gzip_bomb()

    async def answer(request: Request, writer: asyncio.StreamWriter) -> bool:
        headers = [
            ("Content-Type", content_type),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(data))),
        ]
        writer.write(_head(200, headers) + data)
        await writer.drain()
        return True

    return answer


def event_stream(first: bytes, then: bytes, interval: float) -> Answer:
    """An event stream that sends `first`, then `then` every `interval`, and never ends."""

    async def answer(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(_head(200, [("Content-Type", "text/event-stream")]) + first)
        await writer.drain()
        while True:
            await asyncio.sleep(interval)
            writer.write(then)
            await writer.drain()

    return answer
