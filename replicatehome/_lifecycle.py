"""The prediction lifecycle, written once, as sans-I/O generators.

A flow is a generator that yields steps: `Send` a request, `Read` the next chunk of a streamed
response, `Close` it, `Sleep`, or `Emit` a chunk of text. The driver answers each `Send` with
the response and each `Read` with bytes (``b""`` at the end), or throws the transport error in
at the `yield`. Flows build requests, decode answers, and decide (through tenacity) when to
retry and when to poll; `Client` and `AsyncClient` only send, read and sleep (`_drivers.py`).

    create (holding with Prefer: wait where the backend can)
      └─▶ follow the event stream, if there is one, else poll with back-off
            └─▶ terminal ─▶ snapshot, or the error that says how it ended
"""

from __future__ import annotations

import base64
import math
import time
import urllib.parse
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar, cast

import httpx
import tenacity

from ._logs import logger, redact
from ._models import PredictionSnapshot, PredictionStatus
from ._protocols import WireProtocol
from ._protocols.sse import SSEDecoder
from ._responses import error_for_status
from ._retry import Deadline, RetryPolicy
from .catalog import Kind, ModelSpec
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    PredictionCanceledError,
    PredictionDataRemovedError,
    PredictionFailedError,
    PredictionTimeoutError,
)
from .prompts import Message, build_prompt
from .results import text_of

__all__ = [
    "Close",
    "Emit",
    "Finished",
    "Flow",
    "Lifecycle",
    "Read",
    "Send",
    "Sleep",
    "Step",
    "Tracked",
    "resume",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Send:
    """Send this request and resume the flow with the response.

    With `stream`, the body is left unread: the flow reads it with `Read` and ends with `Close`.
    """

    request: httpx.Request
    stream: bool = False


@dataclass(frozen=True, slots=True)
class Read:
    """Resume the flow with the next chunk of the open streamed response (``b""`` at its end)."""


@dataclass(frozen=True, slots=True)
class Close:
    """Close the open streamed response, then resume the flow."""


@dataclass(frozen=True, slots=True)
class Sleep:
    """Sleep this many seconds, then resume the flow."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand this chunk of text to the caller (streaming only), then resume the flow."""

    text: str


@dataclass(frozen=True, slots=True)
class Finished(Generic[T]):
    """The flow returned `value`."""

    value: T


Step: TypeAlias = Send | Read | Close | Sleep | Emit
Reply: TypeAlias = httpx.Response | bytes | None
Flow: TypeAlias = Generator[Step, Reply, T]

_READ, _CLOSE = Read(), Close()


def resume(flow: Flow[T], outcome: Reply | httpx.HTTPError) -> Step | Finished[T]:
    """Advance `flow` with the outcome of its last step; report its next step or its value."""
    try:
        if isinstance(outcome, httpx.HTTPError):
            return flow.throw(outcome)
        return flow.send(outcome)
    except StopIteration as stop:
        return Finished(cast(T, stop.value))


@dataclass(slots=True)
class Tracked:
    """The latest snapshot of one prediction, updated in place while a flow follows it."""

    snapshot: PredictionSnapshot


class _TextProgress:
    """How much of a growing text output the caller has already been given."""

    def __init__(self) -> None:
        self.sent = 0

    def new_text(self, prediction: PredictionSnapshot) -> str:
        if prediction.output is None:
            return ""
        chunk = text_of(prediction)[self.sent :]
        self.sent += len(chunk)
        return chunk


def _clamp(timeout: httpx.Timeout, limit: float, read_at_least: float) -> httpx.Timeout:
    # No single request may outlive the caller's deadline.
    def cap(value: float | None) -> float:
        return limit if value is None else min(value, limit)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(max(timeout.read or 0.0, read_at_least) or None),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


def _with_chunk(snapshot: PredictionSnapshot, chunk: str) -> PredictionSnapshot:
    # The stream is the server describing the prediction too: keep status and output current.
    output = snapshot.output if isinstance(snapshot.output, list) else []
    return snapshot.model_copy(
        update={"status": PredictionStatus.PROCESSING, "output": [*output, chunk]}
    )


def _data_uri(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if header.endswith(";base64"):
        return base64.b64decode(payload)
    return urllib.parse.unquote_to_bytes(payload)


def outcome(snapshot: PredictionSnapshot, deadline: Deadline) -> PredictionSnapshot:
    """`snapshot` if it succeeded with its output; otherwise the error that says how it ended."""
    if snapshot.status == PredictionStatus.SUCCEEDED:
        if snapshot.data_removed and snapshot.output is None:
            raise PredictionDataRemovedError(snapshot)
        return snapshot
    if snapshot.status == PredictionStatus.FAILED:
        raise PredictionFailedError(snapshot)
    if snapshot.status == PredictionStatus.CANCELED:
        raise PredictionCanceledError(snapshot)
    raise PredictionTimeoutError(snapshot, deadline.seconds)


class Lifecycle:
    """The flows of a prediction against one backend, with one retry policy and timeout."""

    def __init__(
        self,
        protocol: WireProtocol,
        policy: RetryPolicy,
        timeout: httpx.Timeout,
        wait_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.protocol = protocol
        self.policy = policy
        self.timeout = timeout
        self.wait_timeout = wait_timeout
        self.clock = clock

    def deadline(self, timeout: float | None = None) -> Deadline:
        """A deadline `timeout` seconds away, or `wait_timeout` away when it is ``None``."""
        return Deadline.after(self.wait_timeout if timeout is None else timeout, self.clock)

    def resolve(self, model: str, version: str | None) -> ModelSpec:
        """The `ModelSpec` for a name or alias, as far as this backend can run it."""
        return self.protocol.model_spec(model, version)

    def plan(
        self,
        kind: Kind,
        model: str,
        version: str | None,
        prompt: str | None,
        messages: Sequence[Message] | None,
        input: Mapping[str, object],
    ) -> tuple[ModelSpec, dict[str, object]]:
        """Resolve the model and build the input of a `generate_*` call, before any I/O."""
        spec = self.resolve(model, version)
        if spec.kind is not None and spec.kind != kind:
            raise ValueError(
                f"{spec.name} is a {spec.kind} model; use generate_{spec.kind}() "
                f"or pick a {kind} model."
            )
        return spec, {"prompt": build_prompt(kind, prompt, messages), **input}

    def send(
        self,
        request: httpx.Request,
        deadline: Deadline,
        *,
        stream: bool = False,
        read_at_least: float = 0.0,
    ) -> Flow[httpx.Response]:
        """Send once and return a 2xx response; raise the typed error for anything else."""
        timeout = _clamp(self.timeout, deadline.remaining(), read_at_least)
        request.extensions["timeout"] = timeout.as_dict()
        logger.debug("%s %s headers=%s", request.method, request.url, redact(request.headers))
        try:
            response = yield Send(request, stream)
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"{request.method} {request.url} timed out: {type(exc).__name__}", request=request
            ) from exc
        except httpx.HTTPError as exc:
            raise APIConnectionError(
                f"{request.method} {request.url} failed: {exc or type(exc).__name__}",
                request=request,
            ) from exc
        if not isinstance(response, httpx.Response):
            raise RuntimeError("the driver resumed a Send step without a response")
        logger.debug("%s %s -> %d", request.method, request.url, response.status_code)
        if response.is_error:
            if stream:  # its body is unread; the status says enough
                yield _CLOSE
                response = httpx.Response(response.status_code, request=request)
            raise error_for_status(response)
        return response

    def request(
        self,
        request: httpx.Request,
        deadline: Deadline,
        *,
        idempotent: bool,
        read_at_least: float = 0.0,
    ) -> Flow[httpx.Response]:
        """`send`, retried as the policy says for this kind of request."""
        retrying = self.policy.requests(deadline, idempotent=idempotent)
        retrying.begin()
        state = tenacity.RetryCallState(retrying, None, (), {})
        while True:
            action = retrying.iter(state)
            if isinstance(action, tenacity.DoAttempt):
                try:
                    response = yield from self.send(request, deadline, read_at_least=read_at_least)
                    state.set_result(response)
                except APIError as exc:
                    state.set_exception((type(exc), exc, exc.__traceback__))
            elif isinstance(action, tenacity.DoSleep):
                state.prepare_for_next_attempt()
                yield Sleep(float(action))
            else:
                return cast(httpx.Response, action)

    def create(
        self,
        spec: ModelSpec,
        input: Mapping[str, object],
        deadline: Deadline,
        *,
        hold: bool = False,
    ) -> Flow[PredictionSnapshot]:
        """Start a prediction. With `hold`, ask the server to answer only once it has finished.

        The hold ends a second before the deadline, and the read timeout covers it.
        """
        seconds = min(self.protocol.max_hold, math.floor(deadline.remaining() - 1))
        held = hold and seconds >= 1
        request = self.protocol.create_request(spec, input, hold=seconds if held else None)
        response = yield from self.request(
            request, deadline, idempotent=False, read_at_least=seconds + 5 if held else 0.0
        )
        snapshot = self.protocol.read_created(response, spec)
        logger.info("Created prediction %s (%s)", snapshot.id, spec.name)
        return snapshot

    def get(self, prediction_id: str, deadline: Deadline) -> Flow[PredictionSnapshot]:
        """Read a prediction's current state."""
        request = self.protocol.get_request(prediction_id)
        response = yield from self.request(request, deadline, idempotent=True)
        return self.protocol.read_prediction(response)

    def cancel(self, prediction_id: str, deadline: Deadline) -> Flow[PredictionSnapshot]:
        """Ask the server to cancel a prediction; return its state after that."""
        request = self.protocol.cancel_request(prediction_id)
        response = yield from self.request(request, deadline, idempotent=True)
        return self.protocol.read_prediction(response)

    def download(self, url: str, deadline: Deadline) -> Flow[bytes]:
        """Fetch an output file; a ``data:`` URI is decoded without a request."""
        if url.startswith("data:"):
            return _data_uri(url)
        request = self.protocol.download_request(url)
        response = yield from self.request(request, deadline, idempotent=True)
        return response.content

    def _follow_stream(
        self,
        request: httpx.Request,
        tracked: Tracked,
        deadline: Deadline,
        progress: _TextProgress | None,
    ) -> Flow[None]:
        """Read the prediction's event stream (`request`) until it says the prediction is done.

        Output events update `tracked` as they come. Any failure of the stream just ends it
        early: the caller then polls instead.
        """
        try:
            yield from self.send(request, deadline, stream=True)
        except APIError as exc:
            logger.info("No event stream for %s (%s); polling", tracked.snapshot.id, exc)
            return
        decoder = SSEDecoder()
        try:
            while True:
                chunk = yield _READ
                if not isinstance(chunk, bytes):
                    raise RuntimeError("the driver resumed a Read step without bytes")
                for event in decoder.feed(chunk) if chunk else decoder.end():
                    if event.event in ("done", "error"):
                        yield _CLOSE
                        return
                    if event.event == "output" and event.data:
                        tracked.snapshot = _with_chunk(tracked.snapshot, event.data)
                        if progress is not None:
                            progress.sent += len(event.data)
                            yield Emit(event.data)
                if not chunk:
                    break
        except httpx.HTTPError as exc:
            logger.info("Event stream of %s broke (%r); polling", tracked.snapshot.id, exc)
        yield _CLOSE

    def wait(
        self,
        tracked: Tracked,
        deadline: Deadline,
        *,
        stream: bool = False,
        on_update: Callable[[PredictionSnapshot], None] | None = None,
    ) -> Flow[PredictionSnapshot]:
        """Follow the prediction until it ends or the deadline passes; with `stream`, emit text.

        Where the backend offers an event stream, completion is seen as it happens; otherwise,
        or if the stream breaks, the prediction is polled with back-off. `on_update` sees every
        snapshot a poll returns, for progress displays. Returns the succeeded snapshot; raises
        `PredictionFailedError`, `PredictionCanceledError` or `PredictionTimeoutError` otherwise.
        """
        progress = _TextProgress() if stream else None
        request = self.protocol.stream_request(tracked.snapshot)
        if request is not None and not tracked.snapshot.status.is_terminal:
            yield from self._follow_stream(request, tracked, deadline, progress)
            if not deadline.expired:
                yield from self._poll(tracked, deadline, on_update)
        if progress is not None and (chunk := progress.new_text(tracked.snapshot)):
            yield Emit(chunk)
        retrying = self.policy.polling(deadline)
        retrying.begin()
        state = tenacity.RetryCallState(retrying, None, (), {})
        # What we already know counts as the first poll: a finished prediction needs none.
        state.set_result(tracked.snapshot)
        while True:
            action = retrying.iter(state)
            if isinstance(action, tenacity.DoSleep):
                state.prepare_for_next_attempt()
                yield Sleep(float(action))
                continue
            if not isinstance(action, tenacity.DoAttempt):
                return outcome(tracked.snapshot, deadline)
            yield from self._poll(tracked, deadline, on_update)
            if progress is not None and (chunk := progress.new_text(tracked.snapshot)):
                yield Emit(chunk)
            state.set_result(tracked.snapshot)

    def _poll(
        self,
        tracked: Tracked,
        deadline: Deadline,
        on_update: Callable[[PredictionSnapshot], None] | None,
    ) -> Flow[None]:
        try:
            tracked.snapshot = yield from self.get(tracked.snapshot.id, deadline)
        except APIError as exc:
            if deadline.expired:
                raise PredictionTimeoutError(tracked.snapshot, deadline.seconds) from exc
            raise
        if on_update is not None:
            on_update(tracked.snapshot)

    def generate(
        self,
        spec: ModelSpec,
        input: Mapping[str, object],
        deadline: Deadline,
        *,
        stream: bool = False,
    ) -> Flow[PredictionSnapshot]:
        """Create a prediction and wait for it, all within one deadline.

        Without `stream`, the create holds (``Prefer: wait``) where the backend can, so a short
        prediction finishes in a single request.
        """
        tracked = Tracked((yield from self.create(spec, input, deadline, hold=not stream)))
        return (yield from self.wait(tracked, deadline, stream=stream))
