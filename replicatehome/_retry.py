"""When to retry a request and how often to poll, as tenacity strategies.

The strategies are plain values: the sans-I/O lifecycle asks a `tenacity.Retrying` what to do
next (attempt, sleep, or stop) and never sleeps itself, so `Client` and `AsyncClient` share them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import ClassVar

import httpx
import tenacity
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ._history import Expected
from ._logs import logger
from ._models import PredictionSnapshot
from .errors import APIConnectionError, APIStatusError, RateLimitError

__all__ = ["Deadline", "RetryPolicy", "retry_after"]

MAX_RETRY_AFTER = 60.0
"""The longest a ``Retry-After`` hint may make us sleep, so a bad header cannot stall a caller."""

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point in time (on `clock`) that a wait must not outlive."""

    seconds: float
    at: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """The deadline `seconds` from now."""
        return cls(seconds, clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - self.clock())

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.remaining() <= 0.0


def retry_after(headers: httpx.Headers, now: Callable[[], float] = time.time) -> float | None:
    """The server's back-off hint in seconds, from ``retry-after-ms`` or ``Retry-After``.

    ``Retry-After`` may be seconds or an HTTP-date; anything unreadable counts as no hint.
    """
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            if math.isfinite(seconds := float(millis) / 1000):
                return max(0.0, seconds)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        # float() also reads "inf", "nan" and 1e400: no usable hint, whatever comes after.
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now())
    except (TypeError, ValueError):
        return None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, APIStatusError):
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return isinstance(exc, APIConnectionError)


def _cannot_have_created(exc: BaseException) -> bool:
    # Re-sending a create that reached the server could start a second, billed prediction.
    if isinstance(exc, RateLimitError):
        return True
    return isinstance(exc, APIConnectionError) and isinstance(exc.__cause__, _NOT_SENT)


class _StopAt(stop_base):
    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self.deadline.expired


class _Until(wait_base):
    """Shorten the last sleep so that it ends at the deadline, not an interval past it."""

    def __init__(self, deadline: Deadline, inner: wait_base) -> None:
        self.deadline = deadline
        self.inner = inner

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return min(self.inner(retry_state), self.deadline.remaining())


class _AroundExpectedEnd(wait_base):
    """Poll seldom before the expected end, densely around it, and back off after it.

    `since` is the clock reading when the prediction was created. Past `Expected.late`, the past
    runs were wrong: the next poll comes after as long as it is overdue, between
    `Expected.dense` and `cap`, so the gaps double up to `cap`.
    """

    def __init__(self, expected: Expected, since: float, clock: Callable[[], float], cap: float):
        self.expected = expected
        self.since = since
        self.clock = clock
        self.cap = cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        age = self.clock() - self.since
        expected = self.expected
        if age < expected.early:
            return expected.early - age
        if age < expected.late:
            return expected.dense
        return min(self.cap, max(expected.dense, age - expected.late))


class _HonourRetryAfter(wait_base):
    """The larger of the server's ``Retry-After`` hint and our back-off, capped."""

    def __init__(self, backoff: wait_base) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        backoff = self.backoff(retry_state)
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, APIStatusError):
            hint = retry_after(error.response.headers)
            if hint is not None:
                return min(max(hint, backoff), MAX_RETRY_AFTER)
        return backoff


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    outcome = retry_state.outcome
    error = outcome.exception() if outcome is not None else None
    logger.info("Retrying in %.2fs after: %s", retry_state.upcoming_sleep, error)


def _last_snapshot(retry_state: tenacity.RetryCallState) -> PredictionSnapshot:
    assert retry_state.outcome is not None  # tenacity only stops after an outcome
    snapshot: PredictionSnapshot = retry_state.outcome.result()
    return snapshot


def _still_running(snapshot: PredictionSnapshot) -> bool:
    return not snapshot.status.is_terminal


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: retries per request, back-off, and the polling rhythm.

    A wait for a model it has not seen polls every `steady_poll` seconds for its first
    `STEADY_POLLS` polls, then every `poll_interval`: with nothing known of when it will end,
    even gaps see the end soonest for the polls spent (docs/benchmarks.md). A stream's polls
    start `first_poll` seconds after the last answer and grow by half each time up to
    `poll_interval`, because its text is shown as it grows.
    """

    STEADY_POLLS: ClassVar[int] = 20
    """How many polls of a cold wait keep the `steady_poll` rhythm before slowing down."""

    max_retries: int = 2
    poll_interval: float = 1.0
    steady_poll: float = 0.5
    first_poll: float = 0.1
    backoff: float = 0.5
    max_backoff: float = 8.0

    def requests(
        self, deadline: Deadline, *, idempotent: bool, patient: bool = False
    ) -> tenacity.Retrying:
        """Retry one request on transient failures; a create only where it cannot duplicate.

        A `patient` request, a poll within a wait, is retried until the deadline rather than
        `max_retries` times, with gaps of at most `poll_interval`: the prediction runs on
        whatever the server's passing trouble, and giving up would lose it.
        """
        longest = min(self.max_backoff, self.poll_interval) if patient else self.max_backoff
        backoff = tenacity.wait_exponential(
            multiplier=self.backoff, max=longest
        ) + tenacity.wait_random(0, min(self.backoff, longest) / 2)
        attempts = (
            tenacity.stop_never if patient else tenacity.stop_after_attempt(self.max_retries + 1)
        )
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                _is_transient if idempotent else _cannot_have_created
            ),
            wait=_Until(deadline, _HonourRetryAfter(backoff)),
            stop=attempts | _StopAt(deadline),
            before_sleep=_log_retry,
            reraise=True,
        )

    def polling(
        self,
        deadline: Deadline,
        expected: Expected | None = None,
        since: float = 0.0,
        *,
        stream: bool = False,
    ) -> tenacity.Retrying:
        """Poll until a terminal status; at the deadline, hand back the last snapshot.

        With `expected` (from past runs of the model, for a prediction created at `since`), polls
        cluster around the expected end; without, they keep a steady rhythm, or back off from
        `first_poll` for a `stream`.
        """
        schedule: wait_base
        if expected is not None:
            schedule = _AroundExpectedEnd(expected, since, deadline.clock, self.poll_interval)
        elif stream:
            first = min(self.first_poll, self.poll_interval)
            schedule = tenacity.wait_exponential(
                multiplier=first, exp_base=1.5, max=self.poll_interval
            )
        else:
            steady = tenacity.wait_fixed(min(self.steady_poll, self.poll_interval))
            schedule = tenacity.wait_chain(
                *[steady] * self.STEADY_POLLS, tenacity.wait_fixed(self.poll_interval)
            )
        return tenacity.Retrying(
            retry=tenacity.retry_if_result(_still_running),
            wait=_Until(deadline, schedule),
            stop=_StopAt(deadline),
            retry_error_callback=_last_snapshot,
        )
