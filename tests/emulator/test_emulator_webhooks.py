"""The emulator's webhook deliveries, received on 127.0.0.1 and checked with a few lines of hmac:
events and their filter, signatures, retries, bounds, and stopping with the server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

import replicatehome.emulator._webhooks
from replicatehome.emulator import Emulator, EmulatorApp, EmulatorConfig, Faults, emulated_text
from replicatehome.emulator._webhooks import parse_webhook, sign

from ..helpers import TLS, FakeClock
from .helpers import (
    AUTH,
    GEMMA,
    MAX_POLLS,
    POLL,
    SD3,
    WEBHOOK_SECRET,
    Delivery,
    Receiver,
    asgi_client,
    assert_problem,
)


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator(
        duration=1.2,
        starting=0.05,
        duration_from_input="seconds",
        webhook_secret=WEBHOOK_SECRET,
        webhook_retry_delays=(0.01, 0.01),
    ) as emu:
        yield emu


def verified(delivery: Delivery) -> dict[str, object]:
    """Check a delivery's signature as a receiver would, and return its prediction."""
    headers = delivery.headers
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + delivery.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(headers["webhook-signature"], f"v1,{expected}")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 30
    assert headers["content-type"] == "application/json"
    return delivery.prediction


def create(http: httpx.Client, url: str, events: list[str] | None = None, **inputs: object) -> str:
    body: dict[str, object] = {"input": {"prompt": "hello", **inputs}, "webhook": url}
    if events is not None:
        body["webhook_events_filter"] = events
    response = http.post(f"/v1/models/{GEMMA.name}/predictions", json=body)
    assert response.status_code == 201, response.text
    prediction_id: str = response.json()["id"]
    return prediction_id


def counted(emu: Emulator, outcome: str, times: int = 1) -> dict[str, int]:
    """The webhook counters, once `outcome` has been counted `times`: just after the answer."""
    for _ in range(MAX_POLLS):
        if emu.stats.webhooks.get(outcome, 0) >= times:
            break
        time.sleep(POLL)
    return emu.stats.webhooks


def completed(deliveries: list[Delivery]) -> bool:
    return any(d.prediction["status"] not in ("starting", "processing") for d in deliveries)


def test_every_event_by_default(emu: Emulator, http: httpx.Client, receiver: Receiver) -> None:
    prediction_id = create(http, receiver.url)
    deliveries = receiver.wait_for(completed)
    bodies = [verified(d) for d in deliveries]
    assert {body["id"] for body in bodies} == {prediction_id}
    assert len({d.headers["webhook-id"] for d in deliveries}) == len(deliveries)
    # start, as it started; output and logs as they grew, throttled to one per 0.5 s over the
    # 1.2 s of processing (far fewer than the tokens); completed last.
    assert bodies[0]["status"] == "processing"
    assert bodies[0]["logs"] == "Starting prediction\n"
    assert bodies[-1]["status"] == "succeeded"
    assert "".join(bodies[-1]["output"]) == emulated_text(GEMMA.name, "hello")  # type: ignore[arg-type]
    progress = bodies[1:-1]
    assert 1 <= len(progress) <= 4
    lengths = [len(body["output"] or []) for body in progress]  # type: ignore[arg-type]
    assert lengths == sorted(lengths)
    assert counted(emu, "delivered", len(deliveries)) == {"delivered": len(deliveries)}


@pytest.mark.parametrize(
    ("events", "statuses"),
    [(["completed"], ["succeeded"]), (["start", "completed"], ["processing", "succeeded"])],
)
def test_the_filter_picks_the_events(
    http: httpx.Client, receiver: Receiver, events: list[str], statuses: list[str]
) -> None:
    create(http, receiver.url, events, seconds=0.1)
    deliveries = receiver.wait_for(completed)
    time.sleep(0.1)  # nothing more comes
    assert [verified(d)["status"] for d in receiver.deliveries] == statuses
    assert deliveries == receiver.deliveries


def test_output_only_deliveries(http: httpx.Client, receiver: Receiver) -> None:
    prediction_id = create(http, receiver.url, ["output"], seconds=0.8)
    for _ in range(MAX_POLLS):  # until it ends: no completed delivery will say so
        if http.get(f"/v1/predictions/{prediction_id}").json()["status"] == "succeeded":
            break
        time.sleep(POLL)
    time.sleep(0.1)
    # At the first token, then at most one per 0.5 s: never one per token.
    assert 1 <= len(receiver.deliveries) <= 2
    assert all(verified(d)["status"] == "processing" for d in receiver.deliveries)
    assert all(verified(d)["output"] for d in receiver.deliveries)


def test_a_cancel_is_delivered_as_completed(http: httpx.Client, receiver: Receiver) -> None:
    prediction_id = create(http, receiver.url, ["completed"])
    http.post(f"/v1/predictions/{prediction_id}/cancel")
    deliveries = receiver.wait_for(completed)
    assert verified(deliveries[0])["status"] == "canceled"


def test_failed_deliveries_are_retried(
    emu: Emulator, http: httpx.Client, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]  # then 204
    create(http, receiver.url, ["completed"], seconds=0)
    deliveries = receiver.wait_for(lambda d: len(d) == 3)
    assert len({d.headers["webhook-id"] for d in deliveries}) == 1  # one message, three tries
    assert all(verified(d)["status"] == "succeeded" for d in deliveries)
    assert counted(emu, "delivered") == {"retried": 2, "delivered": 1}


def test_deliveries_that_keep_failing_give_up(
    emu: Emulator, http: httpx.Client, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 10
    create(http, receiver.url, ["completed"], seconds=0)
    receiver.wait_for(lambda d: len(d) == 3)
    assert counted(emu, "failed") == {"retried": 2, "failed": 1}
    assert len(receiver.deliveries) == 3


def test_unreachable_receivers_cost_nothing_but_retries(emu: Emulator, http: httpx.Client) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]  # closed when the block ends: connections are refused
    create(http, f"http://127.0.0.1:{port}/hook", ["completed"], seconds=0)
    assert counted(emu, "failed") == {"retried": 2, "failed": 1}
    assert http.get(f"/v1/models/{GEMMA.name}").status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        {"webhook": "ftp://127.0.0.1/hook"},
        {"webhook": "not a url"},
        {"webhook": "http://"},
        {"webhook": "http://[::1"},
        {"webhook": 7},
        {"webhook": "http://127.0.0.1/" + "x" * 2048},
        {"webhook": "http://127.0.0.1/hook", "webhook_events_filter": ["finished"]},
        {"webhook": "http://127.0.0.1/hook", "webhook_events_filter": "completed"},
        {"webhook": "http://127.0.0.1/hook", "webhook_events_filter": [1]},
    ],
)
def test_bad_webhooks_are_refused(
    emu: Emulator, http: httpx.Client, fields: dict[str, object]
) -> None:
    response = http.post(
        f"/v1/models/{GEMMA.name}/predictions", json={"input": {"prompt": "x"}, **fields}
    )
    body = assert_problem(response, 422, "webhook")
    assert body["invalid_fields"][0]["field"].startswith("webhook")  # type: ignore[index]
    assert emu.stats.predictions == 0


def test_parse_webhook() -> None:
    assert parse_webhook({}) is None
    target = parse_webhook({"webhook": "https://example.com/h", "webhook_events_filter": []})
    assert target is not None
    assert target.events == frozenset()


def test_signature_matches_a_known_value() -> None:
    # Standard Webhooks' published example (the scheme Replicate signs with).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_stopping_the_server_stops_deliveries(receiver: Receiver) -> None:
    emu = Emulator(webhook_secret=WEBHOOK_SECRET, faults=Faults(never_finish=True))
    with emu, httpx.Client(base_url=emu.url, headers=AUTH, verify=TLS) as http:
        create(http, receiver.url)
        receiver.wait_for(lambda d: len(d) >= 1)  # it started: the follower is running
        began = time.perf_counter()
    assert time.perf_counter() - began < 1.5
    time.sleep(0.1)  # a delivery sent before the stop may still be landing in the receiver
    count = len(receiver.deliveries)
    time.sleep(0.6)
    assert len(receiver.deliveries) == count


def test_followers_are_capped(
    emu: Emulator, http: httpx.Client, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replicatehome.emulator._webhooks, "MAX_FOLLOWERS", 1)
    create(http, receiver.url, ["completed"], seconds=0.1)
    create(http, receiver.url, ["completed"], seconds=0.1)
    receiver.wait_for(completed)
    assert counted(emu, "dropped")["dropped"] == 1


async def test_in_process_apps_stop_deliveries_with_aclose(receiver: Receiver) -> None:
    clock = FakeClock(0.0)
    app = EmulatorApp(EmulatorConfig(webhook_secret=WEBHOOK_SECRET), clock=clock)
    async with asgi_client(app) as api:
        body = {"input": {"prompt": "a cat"}, "webhook": receiver.url}
        response = await api.post(f"/v1/models/{SD3.name}/predictions", json=body)
        assert response.status_code == 201
    assert len(app.webhooks._tasks) == 1
    await app.aclose()
    assert not app.webhooks._tasks
    assert receiver.deliveries == []  # its clock never moved: nothing happened to deliver
