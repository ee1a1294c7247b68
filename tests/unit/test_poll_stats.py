"""Polling that learns: per-model history, and polls timed around the expected end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from replicatehome import PollStats, PredictionSnapshot
from replicatehome._lifecycle import Finished, Lifecycle, Read, Send, Sleep, Step, Tracked, resume
from replicatehome.emulator import Emulator

from ..helpers import FakeClock, Mode, call, close, make_client, prediction
from .test_lifecycle import lifecycle

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MODEL, VERSION = "google-deepmind/gemma-2b-it", "v1"


def finished(queued: float, running: float, **fields: object) -> PredictionSnapshot:
    """A succeeded prediction of MODEL that sat `queued` s in starting, then ran `running` s."""
    return PredictionSnapshot.model_validate(
        {
            "id": "p0",
            "status": "succeeded",
            "model": MODEL,
            "version": VERSION,
            "created_at": T0.isoformat(),
            "started_at": (T0 + timedelta(seconds=queued)).isoformat(),
            "completed_at": (T0 + timedelta(seconds=queued + running)).isoformat(),
            **fields,
        }
    )


def run_until(life: Lifecycle, clock: FakeClock, ends_at: float) -> tuple[list[float], int]:
    """Wait on a prediction created now that ends `ends_at` s later; return the sleeps, polls."""
    since = clock.now
    tracked = Tracked(PredictionSnapshot(id="p1", model=MODEL, version=VERSION), since=since)
    flow = life.wait(tracked, life.deadline(60.0))
    sleeps: list[float] = []
    polls = 0
    body = b""
    outcome: httpx.Response | bytes | None = None
    for _ in range(1000):
        step: Step | Finished[PredictionSnapshot] = resume(flow, outcome)
        outcome = None
        if isinstance(step, Finished):
            return sleeps, polls
        if isinstance(step, Send):
            polls += 1
            status = "succeeded" if clock.now - since >= ends_at else "processing"
            body = json.dumps(prediction(status, ["x"], model=MODEL, version=VERSION)).encode()
            outcome = httpx.Response(200, request=step.request)
        elif isinstance(step, Read):
            outcome, body = body, b""
        elif isinstance(step, Sleep):
            sleeps.append(step.seconds)
            clock.now += step.seconds
    raise AssertionError("the wait did not end in 1000 steps")


def test_a_model_seen_before_is_polled_around_its_expected_end() -> None:
    clock = FakeClock()
    life = lifecycle(clock, poll_interval=1.0)
    for _ in range(5):
        life.history.record(finished(0.3, 2.0))

    sleeps, polls = run_until(life, clock, ends_at=2.3)

    assert polls <= 4
    assert sleeps[0] == pytest.approx(2.3 - 0.05 - 0.02 * 2.3)  # to the end, less slack
    assert clock.now - 2.3 <= 0.06  # seen within one dense interval of the end


def test_without_history_polls_keep_a_steady_rhythm() -> None:
    clock = FakeClock()
    life = lifecycle(clock, poll_interval=1.0)

    sleeps, polls = run_until(life, clock, ends_at=2.3)

    assert sleeps == [0.5] * 5
    assert polls == 5


def test_a_prediction_that_overruns_is_polled_with_a_capped_back_off() -> None:
    clock = FakeClock()
    _, cold_polls = run_until(lifecycle(clock, poll_interval=1.0), clock, ends_at=20.0)
    clock = FakeClock()
    life = lifecycle(clock, poll_interval=1.0)
    life.history.record(finished(0.0, 1.0))

    sleeps, polls = run_until(life, clock, ends_at=20.0)

    after_late = [s for s in sleeps[1:] if s > 0.05]
    assert after_late == sorted(after_late)  # growing
    assert max(sleeps[1:]) == 1.0  # capped at poll_interval
    assert polls <= cold_polls + 4  # wrong history costs a few polls, not 50 ms ones for 19 s


def test_a_stream_keeps_its_rhythm_whatever_the_history() -> None:
    clock = FakeClock()
    life = lifecycle(clock, poll_interval=1.0)
    life.history.record(finished(0.3, 2.0))
    tracked = Tracked(PredictionSnapshot(id="p1", model=MODEL, version=VERSION), since=0.0)
    flow = life.wait(tracked, life.deadline(0.5), stream=True)

    step = resume(flow, None)

    assert step == Sleep(0.1)  # the text so far matters: not straight to the expected end


@pytest.mark.parametrize(
    "fields",
    [
        {"metrics": {"predict_time": -1.0}},
        {"metrics": {"predict_time": 1e9}},
        {"started_at": "2025-01-01T00:00:00+00:00"},  # before it was created
        {"started_at": "2026-01-01T00:00:01"},  # naive beside aware
        {"status": "failed"},
        {"completed_at": None},
    ],
)
def test_timings_that_are_not_credible_teach_nothing(fields: dict[str, object]) -> None:
    stats = PollStats()

    stats.record(finished(0.3, 2.0, **fields))

    assert stats.expected(MODEL, VERSION) is None


def test_memory_is_bounded_per_model_and_in_models() -> None:
    stats = PollStats()
    for n in range(PollStats.MODELS + 10):
        for _ in range(PollStats.RUNS + 5):
            stats.record(finished(0.1, 1.0, model=f"o/m{n}"))

    assert len(stats) == PollStats.MODELS
    exported = stats.export()
    assert "o/m0:v1" not in exported  # the least recently used went first
    assert all(len(runs) == PollStats.RUNS for runs in exported.values())


def test_export_and_seed_warm_a_new_client() -> None:
    old = PollStats()
    old.record(finished(0.3, 2.0))

    new = PollStats()
    new.seed(json.loads(json.dumps(old.export())))

    assert new.expected(MODEL, VERSION) == old.expected(MODEL, VERSION)


@pytest.mark.parametrize("data", [{"m:v": [[1.0]]}, {"m:v": [["a", 1.0]]}, {"m:v": [[-1, 2]]}])
def test_seed_refuses_data_export_would_not_give(data: dict[str, list[list[object]]]) -> None:
    with pytest.raises(ValueError, match="a run is"):
        PollStats().seed(data)  # type: ignore[arg-type]


async def test_each_client_learns_from_its_own_predictions(mode: Mode, emu: Emulator) -> None:
    client = make_client(mode, base_url=emu.url)
    other = make_client(mode, base_url=emu.url)
    result = await call(client.generate_text("hi"))
    await close(client)
    await close(other)

    key = f"{result.prediction.model}:{result.prediction.version}"
    ((queued, running),) = client.poll_stats.export()[key]
    assert queued == pytest.approx(emu.config.starting, abs=0.05)
    assert running == pytest.approx(emu.config.duration, abs=0.05)
    assert client.poll_stats.expected(result.prediction.model, result.prediction.version)
    assert other.poll_stats.export() == {}  # per client, not global
