"""The asyncio driver: runs lifecycle flows with an `httpx.AsyncClient` and `asyncio.sleep`.

Apart from `_sync_driver.py`, the only code that performs I/O. It has a module of its own so
that a script using only `Client` never imports asyncio.
"""

from __future__ import annotations

import asyncio
from asyncio import sleep as async_sleep
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, closing
from typing import TypeVar, cast

import httpx

from ._lifecycle import Close, Emit, Finished, Flow, Lifecycle, Read, Reply, Send, resume
from ._transport import IN_FLIGHT, direct_transport

__all__ = ["AsyncDriver"]

T = TypeVar("T")
C = TypeVar("C", str, bytes)


async def _araw(response: httpx.Response) -> AsyncIterator[bytes]:
    if response.is_stream_consumed:
        yield response.content
    else:
        async for chunk in response.aiter_raw():
            yield chunk


class AsyncDriver:
    """Runs flows with an `httpx.AsyncClient` and `asyncio.sleep`.

    Each send and read runs under `asyncio.timeout` until the step's deadline. With `direct`
    (the SDK's own client), requests skip `httpx.AsyncClient.send` (see `direct_transport`), and
    at most `IN_FLIGHT` are open at once: the others wait for a slot, within their deadline.
    """

    def __init__(
        self, http: httpx.AsyncClient, lifecycle: Lifecycle, *, direct: bool = False
    ) -> None:
        self.http = http
        self.lifecycle = lifecycle
        self.direct = direct
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(IN_FLIGHT) if direct else None

    async def _send(self, request: httpx.Request) -> httpx.Response:
        if not self.direct:
            return await self.http.send(request, stream=True, follow_redirects=False)
        response = await direct_transport(self.http, request.url).handle_async_request(request)
        response.request = request
        return response

    def _chunks(self, response: httpx.Response) -> AsyncIterator[bytes]:
        if self.direct:
            # The transport's stream itself: `aiter_raw` adds bookkeeping the SDK has no use for.
            return aiter(cast(httpx.AsyncByteStream, response.stream))
        return _araw(response)

    async def _open(self, request: httpx.Request) -> httpx.Response:
        if self._slots is None:
            return await self._send(request)
        await self._slots.acquire()
        try:
            return await self._send(request)
        except BaseException:
            self._slots.release()
            raise

    async def _close(self, response: httpx.Response) -> None:
        # Called once per `_open`, whether or not the body was read to its end.
        try:
            await response.aclose()
        finally:
            if self._slots is not None:
                self._slots.release()

    def _check_loop(self) -> None:
        # Pooled connections belong to the loop that opened them: another loop cannot use them.
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError(
                "This AsyncClient is in use by another event loop. Make one AsyncClient per "
                "event loop: inside each asyncio.run(), or one per thread."
            )

    async def _steps(self, flow: Flow[T]) -> AsyncGenerator[str | bytes | Finished[T], None]:
        self._check_loop()
        opened: httpx.Response | None = None  # the one response a flow holds open
        chunks: AsyncIterator[bytes] | None = None
        try:
            with closing(flow):
                outcome: Reply | httpx.HTTPError = None
                while not isinstance(step := resume(flow, outcome), Finished):
                    outcome = None
                    try:
                        if isinstance(step, Send):
                            if opened is not None:
                                finished, opened = opened, None
                                await self._close(finished)
                            async with asyncio.timeout(step.deadline.remaining()):
                                opened = await self._open(step.request)
                            outcome, chunks = opened, self._chunks(opened)
                        elif isinstance(step, Read):
                            if chunks is None:
                                raise RuntimeError("a Read step before any Send")
                            async with asyncio.timeout(step.deadline.remaining()):
                                outcome = await anext(chunks, b"")
                        elif isinstance(step, Close):
                            if opened is not None:
                                finished, opened = opened, None
                                await self._close(finished)
                        elif isinstance(step, Emit):
                            yield step.chunk
                        else:
                            await async_sleep(step.seconds)
                    except httpx.HTTPError as exc:
                        outcome = exc
                    except TimeoutError:
                        # The deadline, not the server: report it as httpx would a timeout.
                        request = step.request if isinstance(step, Send) else None
                        if request is None and opened is not None:
                            request = opened.request
                        outcome = httpx.ReadTimeout("the call's deadline passed", request=request)
                yield step
        finally:
            if opened is not None:
                await self._close(opened)

    async def run(self, flow: Flow[T]) -> T:
        """Run `flow` to the end and return its value."""
        async with aclosing(self._steps(flow)) as steps:
            async for item in steps:
                if isinstance(item, Finished):
                    return item.value
        raise AssertionError("unreachable: every flow ends with Finished")

    async def iterate(self, flow: Flow[object], kind: type[C]) -> AsyncIterator[C]:
        """Run `flow`, yielding the chunks of type `kind` it emits as it emits them."""
        async with aclosing(self._steps(flow)) as steps:
            async for item in steps:
                if isinstance(item, kind):
                    yield item
