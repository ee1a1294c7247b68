"""The sans-I/O core on its own: flows driven by hand with plain values, no network, no sleeps."""

from __future__ import annotations

import json
import random
from collections.abc import Generator, Sequence

import httpx
import pytest

from replicatehome import (
    InternalServerError,
    PredictionSnapshot,
    PredictionTimeoutError,
    RateLimitError,
)
from replicatehome._lifecycle import (
    Emit,
    Finished,
    Flow,
    Lifecycle,
    Limits,
    Read,
    Send,
    Sleep,
    Step,
    Tracked,
    resume,
)
from replicatehome._protocols import StreamChunk, StreamEnd, StreamItem
from replicatehome._protocols.homepage import HomepageProtocol
from replicatehome._protocols.sse import ServerSentEvent
from replicatehome._retry import Deadline, RetryPolicy, retry_after
from replicatehome.catalog import resolve

from ..helpers import FakeClock, prediction


def lifecycle(
    clock: FakeClock, protocol: type[HomepageProtocol] = HomepageProtocol, **policy: float
) -> Lifecycle:
    return Lifecycle(
        protocol("http://h.test", httpx.Headers({"User-Agent": "t"})),
        RetryPolicy(**policy),  # type: ignore[arg-type]
        httpx.Timeout(30.0, connect=5.0),
        wait_timeout=10.0,
        limits=Limits(response=1 << 20, event=1 << 16, download=1 << 20),
        clock=clock,
    )


def ok(status: str = "processing", output: object = None) -> httpx.Response:
    return httpx.Response(200, text=json.dumps(prediction(status, output)))


def drive(
    flow: Flow[object], replies: list[httpx.Response | httpx.HTTPError], clock: FakeClock
) -> tuple[list[Step], object]:
    """Run a flow, answering each Send with the next reply and advancing the clock on Sleep.

    A reply's body is read back in one chunk, then ``b""``. Only Send and Sleep steps are listed.
    """
    steps = drive_steps(flow, replies, clock)
    listed: list[Step] = []
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            return listed, stop.value
        if not isinstance(step, Read):
            listed.append(step)


def drive_steps(
    flow: Flow[object], replies: Sequence[httpx.Response | httpx.HTTPError], clock: FakeClock
) -> Generator[Step, None, object]:
    """Each step of `flow` as it comes, answered as `drive` says; returns the flow's value."""
    pending = list(replies)
    outcome: httpx.Response | httpx.HTTPError | bytes | None = None
    body: list[bytes] = []
    for _ in range(500):
        step = resume(flow, outcome)
        if isinstance(step, Finished):
            return step.value
        yield step
        outcome = None
        if isinstance(step, Send):
            outcome = pending.pop(0)
            if isinstance(outcome, httpx.Response):
                outcome.request = step.request
                body = [outcome.content]
        elif isinstance(step, Read):
            outcome = body.pop() if body else b""
        elif isinstance(step, Sleep):
            clock.now += step.seconds
    raise AssertionError("flow did not finish in 500 steps")


def sleeps_of(steps: list[Step]) -> list[float]:
    return [round(step.seconds, 4) for step in steps if isinstance(step, Sleep)]


def sends(steps: list[Step]) -> list[Send]:
    return [step for step in steps if isinstance(step, Send)]


def failing(status: int, count: int) -> list[httpx.Response | httpx.HTTPError]:
    """`count` answers of `status`: more than a flow should ask for, so none runs out."""
    return [httpx.Response(status) for _ in range(count)]


def test_create_builds_the_homepage_request() -> None:
    clock = FakeClock()
    life = lifecycle(clock)
    spec = resolve("gemma-2b")

    steps, value = drive(
        life.create(spec, {"prompt": "hi"}, life.deadline()),
        [httpx.Response(201, json={"id": "abc"})],
        clock,
    )

    send, _close = steps
    assert isinstance(send, Send)
    assert send.request.method == "POST"
    assert str(send.request.url) == "http://h.test/api/prediction"
    assert json.loads(send.request.content) == {
        "model": spec.name,
        "version": spec.version,
        "input": {"prompt": "hi"},
    }
    assert send.request.extensions["timeout"]["connect"] == 5.0
    assert isinstance(value, PredictionSnapshot)
    assert (value.id, value.status, value.model) == ("abc", "starting", spec.name)


def test_a_wait_with_no_history_polls_every_half_second_then_every_interval() -> None:
    clock = FakeClock()
    life = lifecycle(clock, poll_interval=1.0)
    tracked = Tracked(PredictionSnapshot(id="p1"))
    replies: list[httpx.Response | httpx.HTTPError] = [ok() for _ in range(22)]
    replies.append(ok("succeeded", ["x"]))

    steps, value = drive(life.wait(tracked, life.deadline(60.0)), replies, clock)

    assert sleeps_of(steps) == [0.5] * RetryPolicy.STEADY_POLLS + [1.0] * 3
    assert isinstance(value, PredictionSnapshot)
    assert tracked.snapshot is value


def test_a_stream_polls_from_a_tenth_of_a_second_backing_off_to_the_interval() -> None:
    clock = FakeClock()
    life = lifecycle(clock, poll_interval=1.0)
    tracked = Tracked(PredictionSnapshot(id="p1"))
    replies: list[httpx.Response | httpx.HTTPError] = [ok() for _ in range(8)]
    replies.append(ok("succeeded", ["x"]))

    steps, _ = drive(life.wait(tracked, life.deadline(), stream=True), replies, clock)

    assert sleeps_of(steps) == [0.1, 0.15, 0.225, 0.3375, 0.5062, 0.7594, 1.0, 1.0, 1.0]


def test_a_poll_interval_below_the_steady_rhythm_caps_it() -> None:
    clock = FakeClock()
    life = lifecycle(clock, poll_interval=0.05)
    tracked = Tracked(PredictionSnapshot(id="p1"))
    replies: list[httpx.Response | httpx.HTTPError] = [ok(), ok("succeeded", ["x"])]

    steps, _ = drive(life.wait(tracked, life.deadline()), replies, clock)

    assert sleeps_of(steps) == [0.05, 0.05]


def test_a_finished_prediction_needs_no_poll() -> None:
    clock = FakeClock()
    life = lifecycle(clock)
    done = PredictionSnapshot(id="p1", status="succeeded", output=["x"])

    steps, value = drive(life.wait(Tracked(done), life.deadline()), [], clock)

    assert steps == []
    assert value is done


def test_the_last_sleep_ends_exactly_at_the_deadline() -> None:
    clock = FakeClock()
    life = lifecycle(clock, poll_interval=1.0)
    tracked = Tracked(PredictionSnapshot(id="p1"))

    with pytest.raises(PredictionTimeoutError) as caught:
        drive(life.wait(tracked, life.deadline(2.0)), [ok() for _ in range(50)], clock)

    assert clock.now == pytest.approx(2.0)
    assert caught.value.prediction.status == "processing"


def test_streaming_emits_only_new_text() -> None:
    clock = FakeClock()
    life = lifecycle(clock)
    tracked = Tracked(PredictionSnapshot(id="p1", output=["a"]))
    replies: list[httpx.Response | httpx.HTTPError] = [
        ok("processing", ["a", "b"]),
        ok("processing", ["a", "b"]),
        ok("succeeded", ["a", "b", "c", "d"]),
    ]

    steps, _ = drive(life.wait(tracked, life.deadline(), stream=True), replies, clock)

    assert [step.chunk for step in steps if isinstance(step, Emit)] == ["a", "b", "cd"]


def test_streaming_a_growing_string_emits_its_new_suffix() -> None:
    clock = FakeClock()
    life = lifecycle(clock)
    tracked = Tracked(PredictionSnapshot(id="p1", output="Hel"))
    replies: list[httpx.Response | httpx.HTTPError] = [ok("succeeded", "Hello")]

    steps, _ = drive(life.wait(tracked, life.deadline(), stream=True), replies, clock)

    assert [step.chunk for step in steps if isinstance(step, Emit)] == ["Hel", "lo"]


class ChattyProtocol(HomepageProtocol):
    """A third protocol, with an event stream of its own words: the lifecycle is unchanged."""

    def stream_request(self, prediction: PredictionSnapshot) -> httpx.Request | None:
        return httpx.Request("GET", f"http://h.test/chatter/{prediction.id}")

    def read_event(self, event: ServerSentEvent) -> StreamItem:
        if event.event == "bye":
            return StreamEnd()
        if event.event in ("say", "note"):
            return StreamChunk(event.data, log=event.event == "note")
        return None


def test_a_third_protocol_streams_by_its_own_event_names() -> None:
    clock = FakeClock()
    life = lifecycle(clock, ChattyProtocol)
    tracked = Tracked(PredictionSnapshot(id="p1"))
    events = "".join(
        f"event: {name}\ndata: {data}\n\n"
        for name, data in [
            ("say", "Hi"),
            ("note", "warm"),
            ("hum", "?"),
            ("say", " you"),
            ("bye", ""),
        ]
    )
    replies: list[httpx.Response | httpx.HTTPError] = [
        httpx.Response(200, text=events),
        ok("succeeded", ["Hi", " you"]),
    ]

    steps, value = drive(life.wait(tracked, life.deadline(), stream=True), replies, clock)

    assert [step.chunk for step in steps if isinstance(step, Emit)] == ["Hi", " you"]
    sent = [str(step.request.url) for step in steps if isinstance(step, Send)]
    assert sent == ["http://h.test/chatter/p1", "http://h.test/api/poll?id=p1"]
    assert isinstance(value, PredictionSnapshot)
    assert value.status == "succeeded"


def test_retry_after_wins_over_shorter_backoff() -> None:
    clock = FakeClock()
    life = lifecycle(clock)
    replies: list[httpx.Response | httpx.HTTPError] = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503, headers={"retry-after-ms": "1500"}),
        ok("succeeded"),
    ]

    steps, _ = drive(life.get("p1", life.deadline()), replies, clock)

    first, second = sleeps_of(steps)
    assert first == 7.0
    assert 1.5 <= second <= 1.5 + 0.25


@pytest.mark.parametrize(("draw", "jitter"), [(0.0, 0.0), (1.0, 0.25)], ids=["least", "most"])
def test_backoff_grows_exponentially_with_jitter_and_stops_after_max_retries(
    monkeypatch: pytest.MonkeyPatch, draw: float, jitter: float
) -> None:
    # The random draw pinned at each end of its range: the sleeps move with it, by up to half
    # the first back-off, so a schedule without jitter fails the "most" case.
    monkeypatch.setattr(random, "random", lambda: draw)
    clock = FakeClock()
    life = lifecycle(clock, max_retries=3)
    steps: list[Step] = []

    with pytest.raises(InternalServerError):
        steps.extend(drive_steps(life.get("p1", life.deadline()), failing(500, 5), clock))

    assert sleeps_of(steps) == [0.5 + jitter, 1 + jitter, 2 + jitter]
    assert len(sends(steps)) == 4  # the first try and max_retries=3, though a fifth was due


def test_a_429_create_is_retried_but_not_past_max_retries() -> None:
    clock = FakeClock()
    life = lifecycle(clock, max_retries=1)
    flow = life.create(resolve("gemma-2b"), {"prompt": "x"}, life.deadline())
    steps: list[Step] = []

    with pytest.raises(RateLimitError):
        steps.extend(drive_steps(flow, failing(429, 3), clock))  # kept up to the error

    assert len(sends(steps)) == 2  # retried once, and no more though a third answer waits


def test_a_poll_within_a_wait_is_retried_past_max_retries_at_most_every_poll_interval() -> None:
    # Uncapped, the 0.5 s back-off would double to max_backoff (8 s) between polls.
    clock = FakeClock()
    life = lifecycle(clock, max_retries=1, poll_interval=1.0)
    replies = [*failing(502, 6), ok("succeeded")]

    steps, value = drive(life.get("p1", life.deadline(60.0), patient=True), replies, clock)

    assert isinstance(value, PredictionSnapshot)
    slept = sleeps_of(steps)
    assert len(slept) == 6
    assert max(slept) <= 1.0 + 0.25  # poll_interval, plus the jitter


def test_each_request_timeout_is_clamped_to_the_time_left() -> None:
    clock = FakeClock()
    life = lifecycle(clock)

    steps, _ = drive(life.get("p1", life.deadline(2.0)), [ok()], clock)

    send, _close = steps
    assert isinstance(send, Send)
    assert send.request.extensions["timeout"] == {
        "connect": 2.0,
        "read": 2.0,
        "write": 2.0,
        "pool": 2.0,
    }


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "x", "Retry-After": "1"}, 1.0),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(httpx.Headers(headers)) == expected


def test_retry_after_http_date_is_relative_to_now() -> None:
    headers = httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after(headers, now=lambda: 1445412480.0 - 5) == pytest.approx(5.0)


def test_deadline_counts_down_and_expires() -> None:
    clock = FakeClock()
    deadline = Deadline.after(3.0, clock)
    clock.now = 1.0
    assert deadline.remaining() == 2.0
    assert not deadline.expired
    clock.now = 3.5
    assert deadline.remaining() == 0.0
    assert deadline.expired


def test_nothing_is_sent_at_or_after_the_deadline_and_the_last_answer_is_raised() -> None:
    clock = FakeClock()
    life = lifecycle(clock, max_retries=100)
    sent_at: list[float] = []
    throttled = [httpx.Response(429, headers={"Retry-After": "0.3"}) for _ in range(50)]
    flow = life.create(resolve("gemma-2b"), {"prompt": "x"}, life.deadline(1.0))

    def run() -> None:
        for step in drive_steps(flow, throttled, clock):
            if isinstance(step, Send):
                sent_at.append(clock.now)

    with pytest.raises(RateLimitError):
        run()

    assert sent_at  # it tried
    assert max(sent_at) < 1.0  # never at the deadline, whose answer could not be read
    assert clock.now == pytest.approx(1.0)  # and it waited for its whole deadline first
