"""The prediction lifecycle, written once, as sans-I/O generators.

A flow is a generator that yields steps: `Send` a request, `Sleep`, or `Emit` a chunk of text.
The driver answers each `Send` with the response, or throws the transport error in at the
`yield`. Flows build requests, decode answers, and decide (through tenacity) when to retry and
when to poll; `Client` and `AsyncClient` only send and sleep. See `_drivers.py`.

    create ─▶ poll, poll, … (back-off up to the poll interval) ─▶ terminal ─▶ snapshot or error
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar, cast

import httpx
import tenacity
from pydantic import JsonValue

from ._logs import logger, redact
from ._models import PredictionSnapshot, PredictionStatus
from ._protocols import WireProtocol
from ._responses import error_for_status
from ._retry import Deadline, RetryPolicy
from .catalog import Kind, ModelSpec, resolve
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    PredictionCanceledError,
    PredictionFailedError,
    PredictionTimeoutError,
)
from .prompts import Message, build_prompt

__all__ = ["Emit", "Finished", "Flow", "Lifecycle", "Send", "Sleep", "Step", "Tracked", "resume"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Send:
    """Send this request and resume the flow with the response."""

    request: httpx.Request


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


Step: TypeAlias = Send | Sleep | Emit
Flow: TypeAlias = Generator[Step, httpx.Response | None, T]


def resume(flow: Flow[T], outcome: httpx.Response | httpx.HTTPError | None) -> Step | Finished[T]:
    """Advance `flow` with the outcome of its last step; report its next step or its value."""
    try:
        if isinstance(outcome, httpx.HTTPError):
            return flow.throw(outcome)
        return flow.send(outcome)
    except StopIteration as stop:
        return Finished(cast(T, stop.value))


@dataclass(slots=True)
class Tracked:
    """The latest snapshot of one prediction, updated in place while a flow polls it."""

    snapshot: PredictionSnapshot


class _TextProgress:
    """How much of a growing text output the caller has already been given."""

    def __init__(self) -> None:
        self._tokens = 0
        self._text = ""

    def new_text(self, output: JsonValue) -> str:
        if isinstance(output, list):
            chunk = "".join(str(token) for token in output[self._tokens :])
            self._tokens = len(output)
            return chunk
        if isinstance(output, str) and output.startswith(self._text):
            chunk, self._text = output[len(self._text) :], output
            return chunk
        return ""


def _clamp(timeout: httpx.Timeout, limit: float) -> httpx.Timeout:
    # No single request may outlive the caller's deadline.
    def cap(value: float | None) -> float:
        return limit if value is None else min(value, limit)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


def outcome(snapshot: PredictionSnapshot, deadline: Deadline) -> PredictionSnapshot:
    """`snapshot` if it succeeded; otherwise the error that says how it ended."""
    if snapshot.status == PredictionStatus.SUCCEEDED:
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
        return resolve(
            model, version=version, allow_unversioned=self.protocol.accepts_unversioned_models
        )

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

    def send(self, request: httpx.Request, deadline: Deadline) -> Flow[httpx.Response]:
        """Send once and return a 2xx response; raise the typed error for anything else."""
        request.extensions["timeout"] = _clamp(self.timeout, deadline.remaining()).as_dict()
        logger.debug("%s %s headers=%s", request.method, request.url, redact(request.headers))
        try:
            response = yield Send(request)
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"{request.method} {request.url} timed out: {type(exc).__name__}", request=request
            ) from exc
        except httpx.HTTPError as exc:
            raise APIConnectionError(
                f"{request.method} {request.url} failed: {exc or type(exc).__name__}",
                request=request,
            ) from exc
        if response is None:
            raise RuntimeError("the driver resumed a Send step without a response")
        logger.debug("%s %s -> %d", request.method, request.url, response.status_code)
        if response.is_error:
            raise error_for_status(response)
        return response

    def request(
        self, request: httpx.Request, deadline: Deadline, *, idempotent: bool
    ) -> Flow[httpx.Response]:
        """`send`, retried as the policy says for this kind of request."""
        retrying = self.policy.requests(deadline, idempotent=idempotent)
        retrying.begin()
        state = tenacity.RetryCallState(retrying, None, (), {})
        while True:
            action = retrying.iter(state)
            if isinstance(action, tenacity.DoAttempt):
                try:
                    state.set_result((yield from self.send(request, deadline)))
                except APIError as exc:
                    state.set_exception((type(exc), exc, exc.__traceback__))
            elif isinstance(action, tenacity.DoSleep):
                state.prepare_for_next_attempt()
                yield Sleep(float(action))
            else:
                return cast(httpx.Response, action)

    def create(
        self, spec: ModelSpec, input: Mapping[str, object], deadline: Deadline
    ) -> Flow[PredictionSnapshot]:
        """Start a prediction."""
        request = self.protocol.create_request(spec, input)
        response = yield from self.request(request, deadline, idempotent=False)
        snapshot = self.protocol.read_created(response, spec)
        logger.info("Created prediction %s (%s)", snapshot.id, spec.name)
        return snapshot

    def get(self, prediction_id: str, deadline: Deadline) -> Flow[PredictionSnapshot]:
        """Read a prediction's current state."""
        request = self.protocol.get_request(prediction_id)
        response = yield from self.request(request, deadline, idempotent=True)
        return self.protocol.read_prediction(response)

    def download(self, url: str, deadline: Deadline) -> Flow[bytes]:
        """Fetch an output file."""
        request = self.protocol.download_request(url)
        response = yield from self.request(request, deadline, idempotent=True)
        return response.content

    def wait(
        self,
        tracked: Tracked,
        deadline: Deadline,
        *,
        stream: bool = False,
        on_update: Callable[[PredictionSnapshot], None] | None = None,
    ) -> Flow[PredictionSnapshot]:
        """Poll until the prediction ends or the deadline passes; with `stream`, emit new text.

        `on_update` sees every snapshot a poll returns, for progress displays.

        Returns the succeeded snapshot; raises `PredictionFailedError`, `PredictionCanceledError`
        or `PredictionTimeoutError` otherwise.
        """
        progress = _TextProgress() if stream else None
        retrying = self.policy.polling(deadline)
        retrying.begin()
        state = tenacity.RetryCallState(retrying, None, (), {})
        # What we already know counts as the first poll: a finished prediction needs none.
        state.set_result(tracked.snapshot)
        while True:
            if progress is not None and (chunk := progress.new_text(tracked.snapshot.output)):
                yield Emit(chunk)
            action = retrying.iter(state)
            if isinstance(action, tenacity.DoSleep):
                state.prepare_for_next_attempt()
                yield Sleep(float(action))
                continue
            if not isinstance(action, tenacity.DoAttempt):
                return outcome(tracked.snapshot, deadline)
            try:
                tracked.snapshot = yield from self.get(tracked.snapshot.id, deadline)
            except APIError as exc:
                if deadline.expired:
                    raise PredictionTimeoutError(tracked.snapshot, deadline.seconds) from exc
                raise
            if on_update is not None:
                on_update(tracked.snapshot)
            state.set_result(tracked.snapshot)

    def generate(
        self,
        spec: ModelSpec,
        input: Mapping[str, object],
        deadline: Deadline,
        *,
        stream: bool = False,
    ) -> Flow[PredictionSnapshot]:
        """Create a prediction and wait for it, all within one deadline."""
        tracked = Tracked((yield from self.create(spec, input, deadline)))
        return (yield from self.wait(tracked, deadline, stream=stream))
