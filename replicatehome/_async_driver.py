"""The asyncio driver: runs lifecycle flows with an `AsyncSender` and `asyncio.sleep`.

Apart from `_sync_driver.py`, the only code that performs I/O. It has a module of its own so
that a script using only `Client` never imports asyncio.
"""

from __future__ import annotations

import asyncio
from asyncio import sleep as async_sleep
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, closing
from typing import TypeVar

import httpx

from ._lifecycle import Close, Emit, Finished, Flow, Lifecycle, Read, Reply, Send, resume
from ._transport import AsyncSender

__all__ = ["AsyncDriver"]

T = TypeVar("T")
C = TypeVar("C", str, bytes)


class AsyncDriver:
    """Runs flows through an `AsyncSender`, sleeping with `asyncio.sleep`.

    Each send and read runs under `asyncio.timeout` until the step's deadline.
    """

    def __init__(self, sender: AsyncSender, lifecycle: Lifecycle) -> None:
        self.sender = sender
        self.lifecycle = lifecycle
        self._loop: asyncio.AbstractEventLoop | None = None

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
                                await self.sender.close(finished)
                            async with asyncio.timeout(step.deadline.remaining()):
                                opened = await self.sender.open(step.request)
                            outcome, chunks = opened, self.sender.chunks(opened)
                        elif isinstance(step, Read):
                            if chunks is None:
                                raise RuntimeError("a Read step before any Send")
                            async with asyncio.timeout(step.deadline.remaining()):
                                outcome = await anext(chunks, b"")
                        elif isinstance(step, Close):
                            if opened is not None:
                                finished, opened = opened, None
                                await self.sender.close(finished)
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
                await self.sender.close(opened)

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
