"""Following a prediction in real time: ``Prefer: wait`` holds, and ``/v1`` event streams.

Followers sleep without blocking the event loop until the state machine's next change, and at
most `TICK` at a time, so they notice a cancel or a stopping server promptly (`pause`). Webhook
deliveries (``_webhooks.py``) keep the same pace.

A hold returns when its prediction ends, when its time is up, or when the server drains.

An event stream sends server-sent events. Every event has an ``id:`` line, numbered from 1:

- ``logs``, one per log line, the same lines the prediction's ``logs`` shows when polled:
  ``Starting prediction`` when processing starts, and a failed prediction's error;
- ``output``, one per token; line breaks in a token split its data into several ``data:`` lines;
- ``error`` with ``{"detail": "<error>"}``, for a failed prediction, just before its ``done``;
- ``done`` with ``{}``, ``{"reason": "error"}`` or ``{"reason": "canceled"}``, last.

Then the stream ends. A prediction that never finishes keeps the stream open after its last
token, with a ``: keep-alive`` comment every `KEEP_ALIVE` seconds, until the client goes away or
the server stops.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

import anyio
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ._state import RUNNING, Snapshot, advance, finish_time, log_lines, next_change

if TYPE_CHECKING:
    from ._app import EmulatorApp

__all__ = ["KEEP_ALIVE", "TICK", "EventStream", "follow", "format_event", "hold", "pause"]

TICK: Final = 0.05
"""Longest sleep of a follower, in seconds: how soon it notices a cancel or a stopping server."""

KEEP_ALIVE: Final = 1.0
"""Seconds of silence after which a stream sends a ``: keep-alive`` comment."""

_KEEP_ALIVE_COMMENT: Final = b": keep-alive\n\n"
_MIN_SLEEP: Final = 0.001  # never spin, when float rounding puts a due time a hair in the past
# SSE ends a line at CRLF, LF or CR; any of them in the data must start a new `data:` line.
_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")

Write = Callable[[bytes], Awaitable[None]]
"""Sends bytes of the stream to the client."""


def pause(until_due: float | None) -> float:
    """Seconds a follower sleeps when its prediction may next change in `until_due` seconds
    (``None``: not by itself): that long, but at most `TICK`, and never zero."""
    return TICK if until_due is None else min(max(until_due, _MIN_SLEEP), TICK)


async def hold(app: EmulatorApp, prediction_id: str, seconds: float) -> None:
    """Return when the prediction has ended, after `seconds` of real time, or when draining."""
    store = app.store
    # The deadline is real time even when the store runs on a fake clock: the hold is bounded.
    deadline = time.monotonic() + seconds
    while not app.draining:
        record = store.get(prediction_id)
        if record is None:
            return
        now = store.clock()
        finish = finish_time(record)  # a cancel can move it: read it again every step
        if finish is not None and now >= finish:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await anyio.sleep(pause(left if finish is None else min(left, finish - now)))


def format_event(event: str, event_id: int, data: str) -> bytes:
    """One SSE event; the client joins its ``data:`` lines with ``\\n`` to get `data` back.

    Line breaks in `data` come back as ``\\n``: a CR or CRLF in the data cannot survive SSE.
    """
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return f"event: {event}\nid: {event_id}\n{lines}\n".encode()


def _ending(snap: Snapshot, event: Callable[[str, str], bytes]) -> bytes:
    """The events that close the stream of a prediction that has ended as `snap` says."""
    if snap.status == "failed":
        error = event("error", json.dumps({"detail": snap.error}))
        return error + event("done", json.dumps({"reason": "error"}))
    if snap.status == "canceled":
        return event("done", json.dumps({"reason": "canceled"}))
    return event("done", "{}")


async def follow(
    app: EmulatorApp, prediction_id: str, write: Write, *, keep_alive: float | None = None
) -> None:
    """Write a text prediction's events as they happen, until it ends or the app drains.

    A finished prediction's events are all written at once. A comment is sent after
    `keep_alive` seconds of silence (default: `KEEP_ALIVE`, read at each call).
    """
    keep_alive = KEEP_ALIVE if keep_alive is None else keep_alive
    store = app.store
    last_id = 0

    def event(name: str, data: str) -> bytes:
        nonlocal last_id
        last_id += 1
        return format_event(name, last_id, data)

    sent, logged = 0, 0
    last_sent = time.monotonic()
    while not app.draining:
        record = store.get(prediction_id)
        if record is None:
            return
        now = store.clock()
        snap = advance(record, now)
        chunks = b""
        lines = log_lines(snap)
        for line in lines[logged:]:
            chunks += event("logs", line)
        logged = len(lines)
        tokens = snap.output or ()
        for token in tokens[sent:]:
            chunks += event("output", token)
        sent = len(tokens)
        running = snap.status in RUNNING
        if not running:
            chunks += _ending(snap, event)
        if not chunks and time.monotonic() - last_sent >= keep_alive:
            chunks = _KEEP_ALIVE_COMMENT
        if chunks:
            await write(chunks)
            last_sent = time.monotonic()
        if not running:
            return
        due = next_change(record, now)
        await anyio.sleep(pause(None if due is None else due - now))


class EventStream(Response):
    """A ``text/event-stream`` answer that streams a prediction's events (see `follow`).

    It ends when the events do, when the client disconnects, or when the app drains. It is
    not an async generator on purpose: one abandoned by a disconnect would be finalised later,
    possibly after its event loop has closed.
    """

    media_type = "text/event-stream"

    def __init__(self, app: EmulatorApp, prediction_id: str) -> None:
        """Prepare the stream; nothing happens until it is called."""
        self.status_code = 200
        self.background = None
        # No content-length: the body is chunked and ends when the events do.
        self.init_headers({"content-type": "text/event-stream", "cache-control": "no-store"})
        self._app = app
        self._prediction_id = prediction_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream the events, racing them against the client's disconnect."""
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

        async def write(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        disconnected = False
        async with anyio.create_task_group() as group:

            async def produce() -> None:
                await follow(self._app, self._prediction_id, write)
                group.cancel_scope.cancel()

            group.start_soon(produce)
            message: Message = {"type": ""}
            while message["type"] != "http.disconnect":
                message = await receive()
            disconnected = True
            group.cancel_scope.cancel()
        if not disconnected:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
