"""The two thin drivers that run lifecycle flows: one blocking, one asyncio.

They are the only code that performs I/O: they send what a flow asks to send, read the streamed
response it opened, and sleep when it asks to sleep. Everything else lives in `_lifecycle.py`.
"""

from __future__ import annotations

from asyncio import sleep as async_sleep
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing, closing
from time import sleep
from typing import TypeVar

import httpx

from ._lifecycle import Close, Emit, Finished, Flow, Lifecycle, Read, Reply, Send, resume

__all__ = ["AsyncDriver", "SyncDriver"]

T = TypeVar("T")


class SyncDriver:
    """Runs flows with a blocking `httpx.Client` and `time.sleep`."""

    def __init__(self, http: httpx.Client, lifecycle: Lifecycle) -> None:
        self.http = http
        self.lifecycle = lifecycle

    def _steps(self, flow: Flow[T]) -> Iterator[str | Finished[T]]:
        opened: httpx.Response | None = None  # the one streamed response a flow may hold
        chunks: Iterator[bytes] = iter(())
        try:
            with closing(flow):
                outcome: Reply | httpx.HTTPError = None
                while not isinstance(step := resume(flow, outcome), Finished):
                    outcome = None
                    try:
                        if isinstance(step, Send):
                            outcome = self.http.send(
                                step.request, stream=step.stream, follow_redirects=True
                            )
                            if step.stream:
                                opened, chunks = outcome, outcome.iter_bytes()
                        elif isinstance(step, Read):
                            outcome = next(chunks, b"")
                        elif isinstance(step, Close):
                            if opened is not None:
                                opened.close()
                        elif isinstance(step, Emit):
                            yield step.text
                        else:
                            sleep(step.seconds)
                    except httpx.HTTPError as exc:
                        outcome = exc
                yield step
        finally:
            if opened is not None:
                opened.close()

    def run(self, flow: Flow[T]) -> T:
        """Run `flow` to the end and return its value."""
        for item in self._steps(flow):
            if isinstance(item, Finished):
                return item.value
        raise AssertionError("unreachable: every flow ends with Finished")

    def iterate(self, flow: Flow[object]) -> Iterator[str]:
        """Run `flow`, yielding the text it emits as it emits it."""
        for item in self._steps(flow):
            if isinstance(item, str):
                yield item

    def download(self, url: str) -> bytes:
        """Fetch an output file, within the client's wait timeout."""
        return self.run(self.lifecycle.download(url, self.lifecycle.deadline()))


class AsyncDriver:
    """Runs flows with an `httpx.AsyncClient` and `asyncio.sleep`."""

    def __init__(self, http: httpx.AsyncClient, lifecycle: Lifecycle) -> None:
        self.http = http
        self.lifecycle = lifecycle

    async def _steps(self, flow: Flow[T]) -> AsyncGenerator[str | Finished[T], None]:
        opened: httpx.Response | None = None  # the one streamed response a flow may hold
        chunks: AsyncIterator[bytes] | None = None
        try:
            with closing(flow):
                outcome: Reply | httpx.HTTPError = None
                while not isinstance(step := resume(flow, outcome), Finished):
                    outcome = None
                    try:
                        if isinstance(step, Send):
                            outcome = await self.http.send(
                                step.request, stream=step.stream, follow_redirects=True
                            )
                            if step.stream:
                                opened, chunks = outcome, outcome.aiter_bytes()
                        elif isinstance(step, Read):
                            outcome = await anext(chunks, b"") if chunks is not None else b""
                        elif isinstance(step, Close):
                            if opened is not None:
                                await opened.aclose()
                        elif isinstance(step, Emit):
                            yield step.text
                        else:
                            await async_sleep(step.seconds)
                    except httpx.HTTPError as exc:
                        outcome = exc
                yield step
        finally:
            if opened is not None:
                await opened.aclose()

    async def run(self, flow: Flow[T]) -> T:
        """Run `flow` to the end and return its value."""
        async with aclosing(self._steps(flow)) as steps:
            async for item in steps:
                if isinstance(item, Finished):
                    return item.value
        raise AssertionError("unreachable: every flow ends with Finished")

    async def iterate(self, flow: Flow[object]) -> AsyncIterator[str]:
        """Run `flow`, yielding the text it emits as it emits it."""
        async with aclosing(self._steps(flow)) as steps:
            async for item in steps:
                if isinstance(item, str):
                    yield item

    async def download(self, url: str) -> bytes:
        """Fetch an output file, within the client's wait timeout."""
        return await self.run(self.lifecycle.download(url, self.lifecycle.deadline()))
