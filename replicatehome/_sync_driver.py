"""The blocking driver: runs lifecycle flows with an `httpx.Client` and `time.sleep`.

With `_async_driver.py`, the only code that performs I/O: it sends what a flow asks to send,
reads the raw chunks of the response it opened, and sleeps when it asks to sleep, never past a
step's deadline. Everything else (redirects, decoding, caps, retries) lives in `_lifecycle.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from time import sleep
from typing import TypeVar, cast

import httpx

from ._lifecycle import Close, Emit, Finished, Flow, Lifecycle, Read, Reply, Send, resume
from ._transport import deadline_scope, direct_transport

__all__ = ["SyncDriver"]

T = TypeVar("T")
C = TypeVar("C", str, bytes)


def _raw(response: httpx.Response) -> Iterator[bytes]:
    # A transport that built its response from bytes (httpx.MockTransport) has read it already.
    return iter((response.content,)) if response.is_stream_consumed else response.iter_raw()


class SyncDriver:
    """Runs flows with a blocking `httpx.Client` and `time.sleep`.

    A client from `sync_http_client` ends every socket read at the step's deadline; any other
    client ends them at its own timeouts, which the flow has cut to the time left. With `direct`
    (the SDK's own client), requests skip `httpx.Client.send` (see `direct_transport`).
    """

    def __init__(self, http: httpx.Client, lifecycle: Lifecycle, *, direct: bool = False) -> None:
        self.http = http
        self.lifecycle = lifecycle
        self.direct = direct

    def _open(self, request: httpx.Request) -> httpx.Response:
        if not self.direct:
            return self.http.send(request, stream=True, follow_redirects=False)
        response = direct_transport(self.http, request.url).handle_request(request)
        response.request = request
        return response

    def _chunks(self, response: httpx.Response) -> Iterator[bytes]:
        if self.direct:
            # The transport's stream itself: `iter_raw` adds bookkeeping the SDK has no use for.
            return iter(cast(httpx.SyncByteStream, response.stream))
        return _raw(response)

    def _steps(self, flow: Flow[T]) -> Iterator[str | bytes | Finished[T]]:
        opened: httpx.Response | None = None  # the one response a flow holds open
        chunks: Iterator[bytes] = iter(())
        try:
            with closing(flow):
                outcome: Reply | httpx.HTTPError = None
                while not isinstance(step := resume(flow, outcome), Finished):
                    outcome = None
                    try:
                        if isinstance(step, Send):
                            if opened is not None:
                                opened.close()
                                opened = None
                            with deadline_scope(step.deadline.remaining()):
                                opened = self._open(step.request)
                            outcome, chunks = opened, self._chunks(opened)
                        elif isinstance(step, Read):
                            with deadline_scope(step.deadline.remaining()):
                                outcome = next(chunks, b"")
                        elif isinstance(step, Close):
                            if opened is not None:
                                opened.close()
                                opened = None
                        elif isinstance(step, Emit):
                            yield step.chunk
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

    def iterate(self, flow: Flow[object], kind: type[C]) -> Iterator[C]:
        """Run `flow`, yielding the chunks of type `kind` it emits as it emits them."""
        for item in self._steps(flow):
            if isinstance(item, kind):
                yield item
