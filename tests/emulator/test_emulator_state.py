"""The emulator's pure parts: state machine, store, rendering, faults and config."""

from __future__ import annotations

import json
import math
import re
from dataclasses import fields

import pytest
from pydantic import JsonValue

from replicatehome.catalog import MODELS
from replicatehome.emulator import (
    ConfigOptions,
    EmulatorApp,
    EmulatorConfig,
    Faults,
    emulated_text,
)
from replicatehome.emulator._app import create_prediction, poll_prediction
from replicatehome.emulator._faults import FAILURE_MESSAGES, FaultInjector
from replicatehome.emulator._follow import format_event
from replicatehome.emulator._inputs import InputError, parse_input
from replicatehome.emulator._requests import MAX_DEPTH, BodyError, parse_json_object
from replicatehome.emulator._state import (
    Plan,
    PredictionStore,
    Record,
    Snapshot,
    advance,
    emulated_tokens,
    finish_time,
    next_change,
    render,
)

from ..helpers import FakeClock

GEMMA = MODELS[0]
SDXL = MODELS[2]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def store(clock: FakeClock) -> PredictionStore:
    return PredictionStore(clock=clock, wall_epoch=1_767_225_600.0)  # 2026-01-01T00:00:00Z


def text_record(
    store: PredictionStore,
    prompt: str = "hello there",
    *,
    starting: float = 0.2,
    duration: float = 1.0,
    error: str | None = None,
    never_finish: bool = False,
) -> Record:
    tokens = emulated_tokens(GEMMA.name, prompt)
    plan = Plan(starting, duration, tokens, error=error, never_finish=never_finish)
    return store.create(GEMMA, str(GEMMA.version), {"prompt": prompt}, prompt, plan)


# --- text -------------------------------------------------------------------------------------


def test_tokens_keep_whitespace_and_join_to_the_text() -> None:
    tokens = emulated_tokens(GEMMA.name, "  a\tcat  on a mat ")
    assert "".join(tokens) == emulated_text(GEMMA.name, "  a\tcat  on a mat ")
    assert all(token.strip() for token in tokens)
    assert "gemma-2b-it" in "".join(tokens)
    assert "a\tcat  on a mat" in "".join(tokens)
    assert 15 <= len(emulated_tokens(GEMMA.name, "hi")) <= 40


def test_long_prompts_are_cut_short() -> None:
    tokens = emulated_tokens(GEMMA.name, " ".join(f"w{i}" for i in range(500)))
    assert len(tokens) <= 50
    assert "w23 …" in "".join(tokens)
    assert "w24" not in "".join(tokens)


def test_text_is_stable() -> None:
    assert emulated_text(GEMMA.name, "x") == (
        "This is emulated output from gemma-2b-it for the prompt: x\n"
        "It was generated locally, token by token, without running any model."
    )


# --- the state machine ------------------------------------------------------------------------


def test_text_prediction_moves_through_the_states(store: PredictionStore, clock: FakeClock) -> None:
    record = text_record(store)
    tokens = record.plan.tokens
    assert advance(record, clock.now) == advance(record, clock.now + 0.199)
    assert advance(record, clock.now).status == "starting"
    assert advance(record, clock.now).output is None

    seen: list[int] = []
    for step in range(100):
        snap = advance(record, clock.now + 0.2 + step / 100)
        assert snap.status == "processing"
        assert snap.started == record.created + 0.2
        seen.append(len(snap.output or ()))
        assert snap.output is None or snap.output == tokens[: len(snap.output)]
    assert seen == sorted(seen)
    assert seen[0] == 0
    assert seen[-1] == len(tokens) - 1

    done = advance(record, clock.now + 1.2)
    assert done.status == "succeeded"
    assert done.output == tokens
    assert done.completed == record.created + 1.2
    assert advance(record, clock.now + 1e6) == done


def test_tokens_appear_evenly(store: PredictionStore, clock: FakeClock) -> None:
    record = text_record(store)
    half = advance(record, clock.now + 0.2 + 0.5).output
    assert half is not None
    assert len(half) == len(record.plan.tokens) // 2


def test_failure_happens_halfway_with_partial_output(
    store: PredictionStore, clock: FakeClock
) -> None:
    record = text_record(store, error=FAILURE_MESSAGES[0])
    assert advance(record, clock.now + 0.69).status == "processing"
    failed = advance(record, clock.now + 0.7)
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.startswith("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert failed.output == record.plan.tokens[: len(record.plan.tokens) // 2]
    assert failed.completed == record.created + 0.7
    assert advance(record, clock.now + 100) == failed


def test_never_finish_stays_processing_one_token_short(
    store: PredictionStore, clock: FakeClock
) -> None:
    record = text_record(store, never_finish=True)
    for elapsed in (1.2, 10.0, 1e9):
        snap = advance(record, clock.now + elapsed)
        assert snap.status == "processing"
        assert snap.output == record.plan.tokens[:-1]
        assert snap.completed is None


def test_zero_duration_succeeds_when_starting_ends(
    store: PredictionStore, clock: FakeClock
) -> None:
    record = text_record(store, starting=0.0, duration=0.0)
    assert advance(record, clock.now).status == "succeeded"


def test_image_prediction_has_no_output_until_it_succeeds(
    store: PredictionStore, clock: FakeClock
) -> None:
    plan = Plan(starting=0.1, duration=1.0, images=3)
    record = store.create(SDXL, str(SDXL.version), {"prompt": "cat"}, "cat", plan)
    assert advance(record, clock.now + 0.5).output is None
    assert advance(record, clock.now + 1.1).output == ("out-0.png", "out-1.png", "out-2.png")


def test_cancel_stops_a_prediction_where_it_is(store: PredictionStore, clock: FakeClock) -> None:
    record = text_record(store)
    clock.now += 0.7
    before = advance(record, clock.now)
    canceled = store.cancel(record.id)
    assert canceled is not None
    assert canceled.canceled == clock.now
    assert store.get(record.id) == canceled
    assert advance(record, clock.now).status == "processing"  # records never change
    for later in (0.0, 0.5, 1e6):
        snap = advance(canceled, clock.now + later)
        assert snap.status == "canceled"
        assert snap.output == before.output  # the partial output is kept
        assert snap.error is None
        assert snap.started == record.created + 0.2
        assert snap.completed == clock.now
    assert advance(canceled, clock.now - 0.6) == advance(record, clock.now - 0.6)
    clock.now += 1
    assert store.cancel(record.id) == canceled  # canceling twice changes nothing
    assert store.cancel("nope") is None


def test_cancel_while_starting_and_after_the_end(store: PredictionStore, clock: FakeClock) -> None:
    early = store.cancel(text_record(store).id)
    assert early is not None
    assert advance(early, clock.now + 5) == Snapshot("canceled", None, None, None, clock.now)
    done = text_record(store)
    clock.now += 2
    assert store.cancel(done.id) == done  # finished already: unchanged
    assert advance(done, clock.now).status == "succeeded"


def test_finish_time(store: PredictionStore, clock: FakeClock) -> None:
    assert finish_time(text_record(store)) == clock.now + 1.2
    assert finish_time(text_record(store, error="boom")) == clock.now + 0.7
    stuck = text_record(store, never_finish=True)
    assert finish_time(stuck) is None
    clock.now += 3
    canceled = store.cancel(stuck.id)
    assert canceled is not None
    assert finish_time(canceled) == clock.now


def test_next_change_walks_through_every_state(store: PredictionStore, clock: FakeClock) -> None:
    record = text_record(store)
    now, seen, steps = clock.now, [], 0
    while (due := next_change(record, now)) is not None and steps < 200:
        assert due >= now - 1e-9
        # just past the due time, the snapshot has changed
        now = max(due, now) + 1e-9
        seen.append(advance(record, now))
        steps += 1
    # processing with no output yet, then one token at a time, the last one with success
    assert [snap.status for snap in seen].count("processing") == len(record.plan.tokens)
    assert seen[-1].status == "succeeded"
    assert [len(snap.output or ()) for snap in seen] == list(range(len(record.plan.tokens) + 1))


def test_next_change_of_failures_and_stuck_predictions(
    store: PredictionStore, clock: FakeClock
) -> None:
    failing = text_record(store, error="boom")
    assert next_change(failing, clock.now + 0.69) == pytest.approx(clock.now + 0.7)
    assert next_change(failing, clock.now + 0.7) is None
    stuck = text_record(store, never_finish=True)
    assert next_change(stuck, clock.now + 0.5) is not None
    assert next_change(stuck, clock.now + 5) is None  # all the output it will ever have


def test_render_of_a_canceled_prediction(store: PredictionStore, clock: FakeClock) -> None:
    record = text_record(store)
    clock.now += 0.7
    canceled = store.cancel(record.id)
    assert canceled is not None
    body = render(store, canceled, urls={}, file_url=lambda i, n: n)
    assert body["status"] == "canceled"
    assert body["completed_at"] == "2026-01-01T00:00:00.700000Z"
    assert body["metrics"] == {"predict_time": 0.5, "total_time": 0.7}
    assert body["output"]


# --- server-sent events -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("hi ", "data: hi \n"),
        ("a\nb", "data: a\ndata: b\n"),
        ("line\n", "data: line\ndata: \n"),
        ("x\r\ny\rz", "data: x\ndata: y\ndata: z\n"),
        ("", "data: \n"),
    ],
)
def test_format_event(data: str, expected: str) -> None:
    assert format_event("output", 7, data) == f"event: output\nid: 7\n{expected}\n".encode()


# --- the store and the prediction object ------------------------------------------------------


def test_ids_are_unique_replicate_like_and_reproducible(clock: FakeClock) -> None:
    first, second = PredictionStore(clock=clock), PredictionStore(clock=clock)
    ids = [text_record(first).id for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"[a-z2-7]{26}", prediction_id) for prediction_id in ids)
    assert [text_record(second).id for _ in range(200)] == ids
    assert first.get(ids[7]) is not None
    assert first.get("nope") is None


def test_render_follows_the_protocol(store: PredictionStore, clock: FakeClock) -> None:
    record = text_record(store, prompt="hi")
    urls = {"get": f"http://x/api/poll?id={record.id}"}

    def file_url(prediction_id: str, name: str) -> str:
        return f"http://x/files/{prediction_id}/{name}"

    body = render(store, record, urls=urls, file_url=file_url)
    assert body == {
        "id": record.id,
        "model": "google-deepmind/gemma-2b-it",
        "version": GEMMA.version,
        "input": {"prompt": "hi"},
        "logs": "",
        "output": None,
        "error": None,
        "status": "starting",
        "created_at": "2026-01-01T00:00:00.000000Z",
        "started_at": None,
        "completed_at": None,
        "urls": urls,
        "metrics": {},
        "data_removed": False,
    }
    clock.now += 1.5
    body = render(store, record, urls=urls, file_url=file_url)
    assert body["status"] == "succeeded"
    assert body["output"] == list(record.plan.tokens)
    assert body["started_at"] == "2026-01-01T00:00:00.200000Z"
    assert body["completed_at"] == "2026-01-01T00:00:01.200000Z"
    assert body["metrics"] == {"predict_time": 1.0, "total_time": 1.2}

    image = store.create(SDXL, "v", {"prompt": "p"}, "p", Plan(0.0, 0.0, images=2))
    assert render(store, image, urls=urls, file_url=file_url)["output"] == [
        f"http://x/files/{image.id}/out-0.png",
        f"http://x/files/{image.id}/out-1.png",
    ]


def test_render_of_a_failure_puts_the_error_in_the_logs(
    store: PredictionStore, clock: FakeClock
) -> None:
    record = text_record(store, error="Prediction interrupted; please retry (code: PA)")
    clock.now += 5
    body = render(store, record, urls={}, file_url=lambda i, n: n)
    assert body["status"] == "failed"
    assert body["error"] == "Prediction interrupted; please retry (code: PA)"
    assert body["logs"] == "Starting prediction\nPrediction interrupted; please retry (code: PA)\n"


# --- bounded state ----------------------------------------------------------------------------


@pytest.fixture
def dropped() -> list[str]:
    return []


@pytest.fixture
def bounded(clock: FakeClock, dropped: list[str]) -> PredictionStore:
    """A store that keeps ended predictions 10 s, and 3 predictions at most."""
    return PredictionStore(clock=clock, ttl=10.0, max_predictions=3, on_drop=dropped.append)


def test_ended_predictions_expire_ttl_seconds_after_they_end(
    bounded: PredictionStore, clock: FakeClock, dropped: list[str]
) -> None:
    succeeded, failed = text_record(bounded), text_record(bounded, error="boom")
    clock.now += 0.7 + 9.99  # the failure ended 9.99 s ago, the success 0.5 s later
    assert bounded.get(failed.id) == failed
    clock.now += 0.02
    assert bounded.get(failed.id) is None
    assert bounded.cancel(failed.id) is None
    assert bounded.get(succeeded.id) == succeeded
    assert dropped == [failed.id]  # dropped when it was found expired, and once
    clock.now += 0.5
    assert bounded.cancel(succeeded.id) is None
    assert dropped == [failed.id, succeeded.id]
    assert bounded.count == 0


def test_running_predictions_never_expire_until_canceled(
    bounded: PredictionStore, clock: FakeClock
) -> None:
    stuck = text_record(bounded, never_finish=True)
    clock.now += 1e9
    assert bounded.get(stuck.id) == stuck
    canceled = bounded.cancel(stuck.id)
    assert canceled is not None
    clock.now += 9.99
    assert bounded.get(stuck.id) == canceled
    clock.now += 0.02
    assert bounded.get(stuck.id) is None


def test_creating_drops_the_expired_and_then_the_oldest(
    bounded: PredictionStore, clock: FakeClock, dropped: list[str]
) -> None:
    first, second = text_record(bounded), text_record(bounded)
    clock.now += 20
    third = text_record(bounded)  # nobody asked for the first two, but they are gone
    assert dropped == [first.id, second.id]
    assert bounded.count == 1
    stuck = text_record(bounded, never_finish=True)
    clock.now += 20
    assert bounded.get(stuck.id) == stuck
    fifth = text_record(bounded)
    assert dropped == [first.id, second.id, third.id]
    later = [text_record(bounded) for _ in range(2)]
    assert dropped[-1] == stuck.id  # at the cap, running or not, the oldest goes
    assert bounded.count == 3
    assert [bounded.get(record.id) for record in [fifth, *later]] == [fifth, *later]


def test_ids_come_from_a_counter_and_never_repeat(clock: FakeClock) -> None:
    unbounded = PredictionStore(clock=clock)
    small = PredictionStore(clock=clock, max_predictions=1)
    ids = [text_record(unbounded).id for _ in range(50)]
    assert [text_record(small).id for _ in range(50)] == ids  # the same ids, eviction or not
    assert len(set(ids)) == 50
    assert small.count == 1
    assert [small.get(prediction_id) is not None for prediction_id in ids] == [False] * 49 + [True]


def test_creating_at_the_cap_costs_the_same_however_many_came_before(clock: FakeClock) -> None:
    # Many more creates than the cap, each dropping one: all of them would take minutes if
    # each drop walked the store.
    store = PredictionStore(clock=clock, ttl=1.0, max_predictions=1000)
    for _ in range(6):
        for _ in range(1000):
            text_record(store)
        clock.now += 0.5
    assert store.count == 1000


@pytest.mark.parametrize("options", [{"ttl": 0.0}, {"ttl": math.nan}, {"max_predictions": 0}])
def test_store_rejects_nonsense(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        PredictionStore(**options)  # type: ignore[arg-type]


def test_unknown_ids_are_not_remembered(clock: FakeClock) -> None:
    config = EmulatorConfig(prediction_ttl=10.0)
    app = EmulatorApp(config, clock=clock, wall_epoch=0.0)
    for number in range(100):
        assert poll_prediction(app, f"made-up-{number}") is None
    assert app.stats.polls == {}
    record = create_prediction(
        app, GEMMA, "v", {"prompt": "hi"}, parse_input(app.config, GEMMA, {"prompt": "hi"})
    )
    assert poll_prediction(app, record.id) == record
    assert app.stats.polls == {record.id: 1}
    clock.now += 11.2
    assert poll_prediction(app, record.id) is None
    assert app.stats.polls == {}  # its count went with it


def test_an_input_key_can_set_the_duration(clock: FakeClock) -> None:
    app = EmulatorApp(
        EmulatorConfig(duration=1.0, duration_from_input="seconds"), clock=clock, wall_epoch=0.0
    )
    for seconds, expected in ((2.5, 2.5), (0, 0.0), (86_400, 86_400.0)):
        inputs = {"prompt": "hi", "seconds": seconds}
        record = create_prediction(app, GEMMA, "v", inputs, parse_input(app.config, GEMMA, inputs))
        assert record.plan.duration == expected
    plain = create_prediction(
        app, GEMMA, "v", {"prompt": "hi"}, parse_input(app.config, GEMMA, {"prompt": "hi"})
    )
    assert plain.plan.duration == 1.0  # no key: the configured duration
    bad_values: list[JsonValue] = [-0.1, 86_400.5, True, "2", None, [1], math.nan]
    for bad in bad_values:
        with pytest.raises(InputError, match="seconds: Input should be a number of seconds from 0"):
            parse_input(app.config, GEMMA, {"prompt": "hi", "seconds": bad})


def test_without_the_option_the_key_is_just_an_input(clock: FakeClock) -> None:
    app = EmulatorApp(EmulatorConfig(duration=1.0), clock=clock, wall_epoch=0.0)
    inputs = {"prompt": "hi", "seconds": "anything"}
    record = create_prediction(app, GEMMA, "v", inputs, parse_input(app.config, GEMMA, inputs))
    assert record.plan.duration == 1.0


# --- request bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"{}",
        b' {"a": 1} ',
        rb'{"a": "\\ud800"}',  # an escaped backslash, then text: not a surrogate
        rb'{"a": "\ud83d\ude00", "b": "\u00e9\u4e2d"}',
        b'{"a": "' + b"[" * 200 + rb'", "b": "\"{{{{"}',  # brackets in strings nest nothing
        b'{"a": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}",
        b'{"a": [' + b"[{}]," * 300 + b"1]}",  # many brackets, shallow
        json.dumps({"a": 1e308, "b": -0.0, "c": 10**4299, "d": "é" * 1000}).encode(),
    ],
)
def test_bodies_that_are_accepted(content: bytes) -> None:
    body = parse_json_object(content)
    assert json.loads(json.dumps(body, allow_nan=False).encode()) == body  # it can be sent back


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b'{"a": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}", f"more than {MAX_DEPTH}"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"more than {MAX_DEPTH}"),
        (rb'{"a": "\u00e9", "b": ' + b"{" * 10_000, f"more than {MAX_DEPTH}"),
        ('{"a": é'.encode() + b"[" * 100, f"more than {MAX_DEPTH}"),  # not ASCII, not in a string
        (rb'{"a": "\ud800\ud800"}', "lone surrogate (U+D800)"),
        (rb'{"a": "\ude00\ud83d"}', "lone surrogate (U+DE00)"),  # a pair, the wrong way round
        (rb'{"a": "\uDFFF"}', "lone surrogate (U+DFFF)"),
        (b'{"a": "\xed\xa0\xbd\xed\xb8\x80"}', "lone surrogate"),  # a pair, each encoded raw
        (b'{"a": -' + b"9" * 4301 + b"}", "more than 4300 digits"),
        (b'{"a": 1' + b"0" * 400 + b".5e10}", "out of range"),
        (b'{"a": 1}x', "not valid JSON: Extra data at line 1 column 9"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a byte order mark
        (b"[]", "must be a JSON object"),
    ],
)
def test_bodies_that_are_refused(content: bytes, detail: str) -> None:
    with pytest.raises(BodyError) as refused:
        parse_json_object(content)
    assert refused.value.status_code == 400
    assert refused.value.title == "Bad request"
    assert detail in refused.value.detail
    assert len(refused.value.detail) < 200  # a refused number is not echoed whole


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"failure_rate": 1.5},
        {"drop_rate": -0.1},
        {"rate_limit_rate": 0.6, "server_error_rate": 0.6},
        {"retry_after": -1.0},
        {"slow_seconds": -1.0},
        {"max_faults": -1},
        {"routes": frozenset({"poll", "upload"})},
    ],
)
def test_faults_reject_nonsense(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        Faults(**options)  # type: ignore[arg-type]


def test_injector_respects_routes_and_budget() -> None:
    injector = FaultInjector(Faults(rate_limit_rate=1.0, max_faults=2, routes=frozenset({"poll"})))
    assert injector.for_request("create")[1] is None
    kinds = [injector.for_request("poll")[1] for _ in range(4)]
    assert [None if fault is None else fault.status for fault in kinds] == [429, 429, None, None]
    injector.faults = Faults(drop_rate=1.0, max_faults=1)
    fault = injector.for_request("create")[1]
    assert fault is not None
    assert fault.kind == "drop"
    assert injector.for_request("create")[1] is None


def test_injector_is_reproducible_and_streams_are_independent() -> None:
    faults = Faults(failure_rate=0.5, server_error_rate=0.5, seed=7)

    def run(polls: int) -> tuple[list[str | None], list[int | None]]:
        injector = FaultInjector(faults)
        statuses: list[int | None] = []
        fates: list[str | None] = []
        for _ in range(20):
            fates.append(injector.for_prediction().error)
            for _ in range(polls):
                fault = injector.for_request("poll")[1]
                statuses.append(None if fault is None else fault.status)
        return fates, statuses

    fates, statuses = run(3)
    assert run(3) == (fates, statuses)
    assert run(1)[0] == fates  # polling more or less does not change which predictions fail
    assert set(fates) - {None} <= set(FAILURE_MESSAGES)
    assert None in fates
    assert len(set(fates)) > 1
    assert {502, 503, 504, None} == set(statuses)


def test_never_finish_wins_over_failure() -> None:
    fate = FaultInjector(Faults(failure_rate=1.0, never_finish=True)).for_prediction()
    assert fate.never_finish
    assert fate.error is None


# --- config -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"duration": -1.0},
        {"starting": -1.0},
        {"image_count": 0},
        {"image_size": 0},
        {"models": ()},
        {"api_tokens": frozenset({""})},
        {"prediction_ttl": 0.0},
        {"prediction_ttl": -1.0},
        {"prediction_ttl": math.nan},
        {"max_predictions": 0},
        {"duration_from_input": ""},
    ],
)
def test_config_rejects_nonsense(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        EmulatorConfig(**options)  # type: ignore[arg-type]


def test_config_options_mirror_the_config_fields() -> None:
    assert set(ConfigOptions.__annotations__) == {field.name for field in fields(EmulatorConfig)}
    assert EmulatorConfig().models == MODELS
    assert EmulatorConfig().faults == Faults()
