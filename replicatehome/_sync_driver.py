"""The blocking driver: runs lifecycle flows with a `SyncSender` and `time.sleep`.

With `_async_driver.py`, the only code that performs I/O: it sends what a flow asks to send,
reads the raw chunks of the response it opened, closes it, sleeps and hands on what the flow
emits, never past a step's deadline. How a request goes out is the sender's (`_transport.py`);
everything else (redirects, decoding, caps, retries) lives in `_lifecycle.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from time import sleep
from typing import TypeVar

import httpx

from ._lifecycle import Close, Emit, Finished, Flow, Lifecycle, Read, Reply, Send, resume
from ._transport import SyncSender, deadline_scope

__all__ = ["SyncDriver"]

T = TypeVar("T")
C = TypeVar("C", str, bytes)


class SyncDriver:
    """Runs flows through a blocking `SyncSender`, sleeping with `time.sleep`.

    The SDK's own client ends every socket read at the step's deadline (`deadline_scope`); any
    other client ends them at its own timeouts, which the flow has cut to the time left.
    """

    def __init__(self, sender: SyncSender, lifecycle: Lifecycle) -> None:
        self.sender = sender
        self.lifecycle = lifecycle

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
                                opened = self.sender.open(step.request)
                            outcome, chunks = opened, self.sender.chunks(opened)
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
