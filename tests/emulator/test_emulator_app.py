"""The emulator over HTTP: routes, validation, faults and counters, in-process and on sockets."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import fields

import httpx
import pytest

import replicatehome.emulator
from replicatehome.catalog import MODELS
from replicatehome.cli import main
from replicatehome.cli._parser import build_parser
from replicatehome.emulator import (
    Emulator,
    EmulatorApp,
    EmulatorConfig,
    Faults,
    create_app,
    emulated_text,
)
from replicatehome.emulator._requests import MAX_BODY_BYTES, MAX_DEPTH

from ..helpers import TLS, FakeClock
from .helpers import (
    BAD_BODIES,
    BAD_INPUT_MEMBERS,
    BASE,
    GEMMA,
    MAX_POLLS,
    SD3,
    SDXL,
    asgi_client,
    chunked,
)


def body_for(model: str = GEMMA.name, prompt: str = "hello", **inputs: object) -> dict[str, object]:
    spec = {spec.name: spec for spec in MODELS}[model]
    return {"model": spec.name, "version": spec.version, "input": {"prompt": prompt, **inputs}}


async def create(
    api: httpx.AsyncClient, model: str = GEMMA.name, prompt: str = "hello", **inputs: object
) -> str:
    response = await api.post("/api/prediction", json=body_for(model, prompt, **inputs))
    assert response.status_code == 201, response.text
    prediction_id: str = response.json()["id"]
    return prediction_id


async def poll(api: httpx.AsyncClient, prediction_id: str) -> dict[str, object]:
    response = await api.get("/api/poll", params={"id": prediction_id})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def homepage_body(member: bytes = b"", model: str = GEMMA.name, prompt: str = "x") -> bytes:
    """A create body whose input has `member` (raw JSON text) after the prompt."""
    spec = {spec.name: spec for spec in MODELS}[model]
    head = json.dumps({"model": spec.name, "version": spec.version, "input": {"prompt": prompt}})
    return head[:-2].encode() + (b", " + member if member else b"") + b"}}"


# --- the happy paths --------------------------------------------------------------------------


async def test_text_prediction_lifecycle(api: httpx.AsyncClient, clock: FakeClock) -> None:
    response = await api.post("/api/prediction", json=body_for(prompt="tell me"))
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    created = response.json()
    assert created["status"] == "starting"
    assert created["output"] is None
    assert created["model"] == GEMMA.name
    assert created["version"] == GEMMA.version
    assert created["input"] == {"prompt": "tell me"}
    assert created["urls"] == {"get": f"{BASE}/api/poll?id={created['id']}"}

    clock.now += 0.7
    halfway = await poll(api, created["id"])
    assert halfway["status"] == "processing"
    assert isinstance(halfway["output"], list)
    assert 0 < len(halfway["output"]) < len(emulated_text(GEMMA.name, "tell me").split())

    clock.now += 1.0
    done = await poll(api, created["id"])
    assert done["status"] == "succeeded"
    assert isinstance(done["output"], list)
    assert "".join(done["output"]) == emulated_text(GEMMA.name, "tell me")
    assert done["metrics"] == {"predict_time": 1.0, "total_time": 1.2}


async def test_image_prediction_serves_its_pngs(api: httpx.AsyncClient, clock: FakeClock) -> None:
    prediction_id = await create(api, SDXL.name, num_outputs=2)
    clock.now += 0.5
    assert (await poll(api, prediction_id))["output"] is None
    assert (await api.get(f"/files/{prediction_id}/out-0.png")).status_code == 404

    clock.now += 1.0
    done = await poll(api, prediction_id)
    assert done["status"] == "succeeded"
    assert done["output"] == [
        f"{BASE}/files/{prediction_id}/out-0.png",
        f"{BASE}/files/{prediction_id}/out-1.png",
    ]
    first, second = [await api.get(f"/files/{prediction_id}/out-{n}.png") for n in (0, 1)]
    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert first.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert first.content != second.content
    assert (await api.get(f"/files/{prediction_id}/out-2.png")).status_code == 404


async def test_image_count_comes_from_the_config(clock: FakeClock) -> None:
    app = create_app(EmulatorConfig(starting=0, duration=0, image_count=3), clock=clock)
    async with asgi_client(app) as client:
        done = await poll(client, await create(client, SD3.name))
    assert isinstance(done["output"], list)
    assert len(done["output"]) == 3


@pytest.mark.parametrize(
    "path",
    [
        "/files/nope/out-0.png",
        "/files/{text}/out-0.png",
        "/files/{image}/out-5.png",
        "/files/{image}/out-99999999999999999999.png",
        "/files/{image}/out-" + "9" * 5000 + ".png",  # too long for int(): no 500
        "/files/{image}/out-\u0661.png",  # an Arabic-Indic one is a digit, not an index
        "/files/{image}/out-0x1.png",
    ],
)
async def test_unknown_files_are_404(api: httpx.AsyncClient, clock: FakeClock, path: str) -> None:
    text, image = await create(api), await create(api, SDXL.name)
    clock.now += 10
    response = await api.get(path.format(text=text, image=image))
    assert response.status_code == 404
    assert response.json() == {"detail": "File not found"}


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "status", "detail"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (json.dumps({"version": "v", "input": {}}).encode(), 400, "'model'"),
        (json.dumps({"model": GEMMA.name, "input": {}}).encode(), 400, "'version'"),
        (json.dumps({"model": GEMMA.name, "version": "v"}).encode(), 400, "'input'"),
        (json.dumps({**body_for(), "input": "hi"}).encode(), 400, "'input'"),
        (json.dumps({**body_for(), "model": "acme/nope"}).encode(), 422, "Available models"),
        (json.dumps({**body_for(), "version": SD3.version}).encode(), 422, "does not exist"),
        (json.dumps({**body_for(), "input": {"prompt": 3}}).encode(), 422, "- input.prompt: "),
        (json.dumps(body_for(SDXL.name, num_outputs=0)).encode(), 422, "- input.num_outputs: "),
        (json.dumps(body_for(SDXL.name, num_outputs=True)).encode(), 422, "- input.num_outputs"),
    ],
)
async def test_create_validates_like_the_real_service(
    api: httpx.AsyncClient, app: EmulatorApp, content: bytes, status: int, detail: str
) -> None:
    response = await api.post("/api/prediction", content=content)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert detail in response.json()["detail"]
    assert app.stats.predictions == 0


async def test_a_valid_body_survives_the_round_trip(api: httpx.AsyncClient) -> None:
    # The edges of what is accepted: escaped surrogate pairs, big finite numbers, MAX_DEPTH.
    deep = b"[" * (MAX_DEPTH - 2) + b"]" * (MAX_DEPTH - 2)  # the body and its input are 2
    member = b'"e": "\\ud83d\\ude00", "f": 1e308, "g": -0.0, "h": ' + b"9" * 400 + b', "d": ' + deep
    response = await api.post("/api/prediction", content=homepage_body(member))
    assert response.status_code == 201, response.text
    echoed = response.json()["input"]
    assert echoed["e"] == "\U0001f600"
    assert echoed["f"] == 1e308
    assert echoed["h"] == int("9" * 400)


@pytest.mark.parametrize(("member", "detail"), BAD_INPUT_MEMBERS)
async def test_create_refuses_json_it_could_not_send_back(
    api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock, member: bytes, detail: str
) -> None:
    kept = await create(api)
    response = await api.post("/api/prediction", content=homepage_body(member))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert detail in response.json()["detail"]
    assert app.stats.predictions == 1  # nothing stored
    clock.now += 5
    assert (await poll(api, kept))["status"] == "succeeded"  # the others still render
    await create(api)


@pytest.mark.parametrize(("content", "detail"), BAD_BODIES)
async def test_create_refuses_bad_bodies(
    api: httpx.AsyncClient, app: EmulatorApp, content: bytes, detail: str
) -> None:
    response = await api.post("/api/prediction", content=content)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert detail in response.json()["detail"]
    assert app.stats.predictions == 0


@pytest.mark.parametrize("declared", [True, False])
async def test_create_refuses_bodies_over_the_cap(
    api: httpx.AsyncClient, app: EmulatorApp, declared: bool
) -> None:
    padding = "x" * (MAX_BODY_BYTES - len(homepage_body(prompt="")))
    at_cap = homepage_body(prompt=padding)
    assert len(at_cap) == MAX_BODY_BYTES
    over = homepage_body(prompt=padding + "x")
    for data, status in [(over, 413), (at_cap, 201)]:
        content = data if declared else chunked(data)
        response = await api.post("/api/prediction", content=content)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/json"
        if status == 413:
            assert f"larger than {MAX_BODY_BYTES} bytes" in response.json()["detail"]
            assert app.stats.predictions == 0
    assert app.stats.predictions == 1


async def test_poll_errors(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/poll")
    assert missing.status_code == 400
    assert "'id'" in missing.json()["detail"]
    # A percent-encoded lone surrogate, and bytes that are not UTF-8, decode to U+FFFD.
    for query in ["id=doesnotexist", "id=%ED%A0%80", "id=%FF", "id=" + "x" * 10_000]:
        unknown = await api.get(f"/api/poll?{query}")
        assert unknown.status_code == 404
        assert unknown.json() == {"detail": "Prediction not found"}


async def test_unknown_routes_and_methods_answer_json(api: httpx.AsyncClient) -> None:
    assert (await api.get("/nope")).json() == {"detail": "Not Found"}
    wrong = await api.get("/api/prediction")
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": "Method Not Allowed"}
    assert wrong.headers["allow"] == "POST"


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("retry_after", "header"), [(1.0, "1"), (0.5, "0.5"), (2.0, "2")])
async def test_rate_limit(
    api: httpx.AsyncClient, app: EmulatorApp, retry_after: float, header: str
) -> None:
    app.faults = Faults(rate_limit_rate=1.0, retry_after=retry_after)
    response = await api.post("/api/prediction", json=body_for())
    assert response.status_code == 429
    assert response.headers["retry-after"] == header
    assert response.json()["detail"].startswith("Request was throttled. ")
    assert app.stats.predictions == 0  # a faulted request has no side effect


async def test_server_errors_are_html_gateway_pages(
    api: httpx.AsyncClient, app: EmulatorApp
) -> None:
    app.faults = Faults(server_error_rate=1.0)
    statuses = set()
    for _ in range(30):
        response = await api.get("/api/poll", params={"id": "x"})
        statuses.add(response.status_code)
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text.startswith(f"<html>\r\n<head><title>{response.status_code} ")
    assert statuses == {502, 503, 504}
    assert app.stats.faults == 30
    assert app.stats.faults_by_kind == {"server_error": 30}


async def test_text_plain_content_type(
    api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock
) -> None:
    app.faults = Faults(text_plain=True, routes=frozenset({"create", "poll", "file"}))
    created = await api.post("/api/prediction", json=body_for(SDXL.name))
    assert created.headers["content-type"] == "text/plain; charset=utf-8"
    clock.now += 5
    polled = await api.get("/api/poll", params={"id": created.json()["id"]})
    assert polled.headers["content-type"] == "text/plain; charset=utf-8"
    assert polled.json()["status"] == "succeeded"
    image = await api.get(polled.json()["output"][0])
    assert image.headers["content-type"] == "image/png"


async def test_max_faults_then_behaves(api: httpx.AsyncClient, app: EmulatorApp) -> None:
    app.faults = Faults(rate_limit_rate=1.0, max_faults=2)
    statuses = [(await api.post("/api/prediction", json=body_for())).status_code for _ in "abc"]
    assert statuses == [429, 429, 201]
    assert app.stats.faults == 2
    assert app.stats.predictions == 1


async def test_faults_apply_only_to_their_routes(
    api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock
) -> None:
    app.faults = Faults(server_error_rate=1.0, slow_seconds=5.0, routes=frozenset({"file"}))
    prediction_id = await create(api, SDXL.name)
    clock.now += 5
    done = await poll(api, prediction_id)
    assert isinstance(done["output"], list)
    app.faults = Faults(server_error_rate=1.0, routes=frozenset({"file"}))
    assert (await api.get(str(done["output"][0]))).status_code in {502, 503, 504}


async def test_slow_requests(api: httpx.AsyncClient, app: EmulatorApp) -> None:
    app.faults = Faults(slow_seconds=0.05)
    began = time.perf_counter()
    await create(api)
    assert time.perf_counter() - began >= 0.05


async def test_failure_rate(api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock) -> None:
    app.faults = Faults(failure_rate=1.0)
    prediction_id = await create(api)
    clock.now += 5
    failed = await poll(api, prediction_id)
    assert failed["status"] == "failed"
    assert isinstance(failed["error"], str)
    assert failed["error"]
    assert failed["completed_at"] is not None


async def test_never_finish(api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock) -> None:
    app.faults = Faults(never_finish=True)
    prediction_id = await create(api)
    app.faults = Faults()  # the fate is fixed at creation
    clock.now += 3600
    stuck = await poll(api, prediction_id)
    assert stuck["status"] == "processing"
    assert stuck["output"]
    assert stuck["completed_at"] is None


# --- counters ---------------------------------------------------------------------------------


async def test_counters_and_reset(
    api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock
) -> None:
    prediction_id = await create(api, SDXL.name)
    clock.now += 5
    for _ in range(3):
        await poll(api, prediction_id)
    await api.get("/api/poll", params={"id": "unknown"})
    await api.get(f"/files/{prediction_id}/out-0.png")
    app.faults = Faults(rate_limit_rate=1.0)
    await api.get("/api/poll", params={"id": prediction_id})

    assert app.stats.requests == {"create": 1, "poll": 5, "file": 1}
    # Unknown ids are not remembered, and faulted polls never got here.
    assert app.stats.polls == {prediction_id: 3}
    assert app.stats.faults == 1
    assert app.stats.faults_by_kind == {"rate_limit": 1}
    assert app.stats.predictions == 1
    app.stats.reset()
    assert app.stats.requests == app.stats.polls == app.stats.faults_by_kind == {}
    assert app.stats.faults == app.stats.predictions == 0


async def test_reset_forgets_predictions_files_counters_and_faults(clock: FakeClock) -> None:
    configured = Faults(slow_seconds=0.001)
    app = create_app(EmulatorConfig(starting=0.2, duration=1.0, faults=configured), clock=clock)
    async with asgi_client(app) as client:
        old = await create(client)
        uploaded = await client.post("/v1/files", files={"content": ("a.txt", b"hi", "text/plain")})
        file_id = uploaded.json()["id"]
        await poll(client, old)
        app.faults = Faults(failure_rate=1.0)

        app.reset()

        assert app.faults == configured
        assert app.stats.requests == app.stats.polls == {}
        assert app.stats.predictions == 0
        assert (await client.get("/api/poll", params={"id": old})).status_code == 404
        assert (await client.get(f"/v1/files/{file_id}")).status_code == 404
        assert (await client.get("/v1/predictions")).json()["results"] == []
        # Ids are not reused: a client still holding the old one cannot get the new prediction.
        new = await create(client)
        assert new != old
        clock.now += 5
        assert (await poll(client, new))["status"] == "succeeded"  # the failures went too


def test_emulator_reset_resets_its_app() -> None:
    emu = Emulator(duration=0.01)
    emu.faults = Faults(never_finish=True)
    emu.reset()  # not running: nothing to stop, the state is the app's
    assert emu.faults == Faults()


# --- bounded state ----------------------------------------------------------------------------


@pytest.fixture
def bounded(clock: FakeClock) -> EmulatorApp:
    """An app that keeps finished predictions 10 s, and 3 predictions at most."""
    config = EmulatorConfig(starting=0.2, duration=1.0, prediction_ttl=10.0, max_predictions=3)
    return create_app(config, clock=clock)


async def assert_gone(api: httpx.AsyncClient, prediction_id: str) -> None:
    """Every route answers 404 for `prediction_id`, as for an id that never existed."""
    polled = await api.get("/api/poll", params={"id": prediction_id})
    assert (polled.status_code, polled.json()) == (404, {"detail": "Prediction not found"})
    for method, suffix in [("GET", ""), ("POST", "/cancel"), ("GET", "/stream")]:
        response = await api.request(method, f"/v1/predictions/{prediction_id}{suffix}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert (await api.get(f"/files/{prediction_id}/out-0.png")).status_code == 404


async def test_finished_predictions_expire_after_the_ttl(
    bounded_api: httpx.AsyncClient, bounded: EmulatorApp, clock: FakeClock
) -> None:
    text, image = await create(bounded_api), await create(bounded_api, SDXL.name)
    clock.now += 1.2 + 9.99  # succeeded 1.2 s after creation: 9.99 s ago
    assert (await poll(bounded_api, text))["status"] == "succeeded"
    assert (await bounded_api.get(f"/files/{image}/out-0.png")).status_code == 200
    assert bounded.stats.polls == {text: 1}
    clock.now += 0.02
    await assert_gone(bounded_api, text)
    await assert_gone(bounded_api, image)
    assert bounded.stats.polls == {}  # a prediction's poll count goes with it
    assert bounded.stats.predictions == 2


async def test_running_predictions_never_expire_and_canceled_ones_do(
    bounded_api: httpx.AsyncClient, bounded: EmulatorApp, clock: FakeClock
) -> None:
    bounded.faults = Faults(never_finish=True)
    stuck = await create(bounded_api)
    clock.now += 1e6
    assert (await poll(bounded_api, stuck))["status"] == "processing"
    canceled = await bounded_api.post(f"/v1/predictions/{stuck}/cancel")
    assert canceled.json()["status"] == "canceled"
    clock.now += 9.99
    assert (await poll(bounded_api, stuck))["status"] == "canceled"
    clock.now += 0.02
    await assert_gone(bounded_api, stuck)


async def test_the_cap_drops_expired_predictions_first_then_the_oldest(
    bounded_api: httpx.AsyncClient, bounded: EmulatorApp, clock: FakeClock
) -> None:
    bounded.faults = Faults(never_finish=True)
    oldest = await create(bounded_api)  # still running: only the cap can drop it
    bounded.faults = Faults()
    expired = await create(bounded_api)
    clock.now += 20
    kept = [await create(bounded_api), await create(bounded_api)]
    # Four created, three kept: the expired one made room, not the oldest.
    assert (await poll(bounded_api, oldest))["status"] == "processing"
    await assert_gone(bounded_api, expired)
    kept.append(await create(bounded_api))
    await assert_gone(bounded_api, oldest)
    for prediction_id in kept:
        assert (await poll(bounded_api, prediction_id))["status"] in ("starting", "succeeded")
    assert len({oldest, expired, *kept}) == 5  # ids never repeat, eviction or not
    assert bounded.stats.predictions == 5


@pytest.fixture
def served_configs(monkeypatch: pytest.MonkeyPatch) -> list[EmulatorConfig]:
    """The configs `replicatehome serve` would start the emulator with; nothing is started."""
    configs: list[EmulatorConfig] = []

    def fake_serve(config: EmulatorConfig, **options: object) -> None:
        configs.append(config)

    monkeypatch.setattr(replicatehome.emulator, "serve", fake_serve)
    return configs


def test_serve_takes_the_bounds_as_flags(
    served_configs: list[EmulatorConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    configs = served_configs
    assert main(["serve", "--prediction-ttl", "60", "--max-predictions", "5"]) == 0
    assert main(["serve"]) == 0
    assert [(c.prediction_ttl, c.max_predictions) for c in configs] == [(60.0, 5), (3600.0, 10_000)]
    for flags in (
        ["--prediction-ttl", "0"],
        ["--prediction-ttl", "nan"],
        ["--max-predictions", "0"],
    ):
        assert main(["serve", *flags]) == 2
        assert "must be" in capsys.readouterr().err
    assert len(configs) == 2


def test_serve_has_a_flag_for_every_config_field() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    flags = {action.dest for action in commands.choices["serve"]._actions}
    fields_ = {f.name for f in fields(EmulatorConfig)} | {f.name for f in fields(Faults)}
    # `faults` is made of the Faults flags; `models` are the catalog's, objects no flag spells.
    assert fields_ - flags == {"faults", "models"}
    assert flags - fields_ == {"help", "host", "port", "log_level"}


def test_serve_takes_the_webhook_deployment_token_and_fault_flags(
    served_configs: list[EmulatorConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "whsec_" + base64.b64encode(b"a secret for the flags").decode()
    flags = [
        *("--api-tokens", "r8_a,r8_b", "--deployments", f"acme/writer={GEMMA.name}"),
        *("--webhook-secret", secret, "--webhook-retry-delays", "0.1,0.2"),
        *("--files-secret", "files", "--max-upload-bytes", "100"),
        *("--image-count", "2", "--image-size", "64"),
        *("--fault-routes", "create,stream", "--slow", "0.5", "--text-plain"),
    ]
    assert main(["serve", *flags]) == 0
    assert main(["serve", "--webhook-retry-delays", ""]) == 0
    given, no_retries = served_configs
    assert (given.api_tokens, given.deployments) == (
        frozenset({"r8_a", "r8_b"}),
        {"acme/writer": GEMMA.name},
    )
    assert (given.webhook_secret, given.webhook_retry_delays) == (secret, (0.1, 0.2))
    assert (given.files_secret, given.max_upload_bytes) == ("files", 100)
    assert (given.image_count, given.image_size) == (2, 64)
    assert given.faults == Faults(
        routes=frozenset({"create", "stream"}), slow_seconds=0.5, text_plain=True
    )
    assert no_retries.webhook_retry_delays == ()
    assert (no_retries.api_tokens, no_retries.deployments, no_retries.faults) == (
        None,
        None,
        Faults(),
    )
    for bad, why in (  # refused by Faults or EmulatorConfig, which say why
        (["--fault-routes", "create,nope"], "unknown routes ['nope']"),
        (["--deployments", "acme/writer=acme/unknown"], "runs unknown model"),
        (["--webhook-secret", "not-whsec"], "webhook_secret must be"),
        (["--api-tokens", "r8_a,"], "must not contain an empty token"),
        (["--image-count", "11"], "image_count must be between 1 and 10"),
    ):
        assert main(["serve", *bad]) == 2, bad
        assert why in capsys.readouterr().err
    for bad in (["--deployments", "acme/writer"], ["--webhook-retry-delays", "soon"]):
        with pytest.raises(SystemExit, match="2"):  # refused by the parser, with the usage
            main(["serve", *bad])
        assert "must be" in capsys.readouterr().err
    assert len(served_configs) == 2


async def test_an_input_can_ask_for_its_own_duration(clock: FakeClock) -> None:
    app = create_app(
        EmulatorConfig(starting=0.2, duration=1.0, duration_from_input="seconds"), clock=clock
    )
    async with asgi_client(app) as client:
        long = await create(client, seconds=3)
        short = await create(client)  # no key: the configured duration
        response = await client.post(
            "/v1/models/" + GEMMA.name + "/predictions",
            json={"input": {"prompt": "x", "seconds": 0.5}},
            headers={"Authorization": "Bearer r8_test"},
        )
        assert response.status_code == 201, response.text
        official = response.json()["id"]
        clock.now += 1.2
        assert (await poll(client, short))["status"] == "succeeded"
        assert (await poll(client, official))["status"] == "succeeded"
        assert (await poll(client, long))["status"] == "processing"
        clock.now += 2.0
        done = await poll(client, long)
        assert done["status"] == "succeeded"
        assert done["metrics"] == {"predict_time": 3.0, "total_time": 3.2}
        refused = await client.post("/api/prediction", json=body_for(seconds="3"))
        assert refused.status_code == 422
        assert "- input.seconds: Input should be a number of seconds" in refused.json()["detail"]
    assert app.stats.predictions == 3


def test_serve_takes_the_duration_input_key_as_a_flag(
    served_configs: list[EmulatorConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    configs = served_configs
    assert main(["serve", "--duration-from-input", "seconds"]) == 0
    assert main(["serve"]) == 0
    assert [c.duration_from_input for c in configs] == ["seconds", None]
    assert main(["serve", "--duration-from-input", ""]) == 2
    assert "must be" in capsys.readouterr().err


# --- over real sockets ------------------------------------------------------------------------


def emulator_threads() -> int:
    # Other emulators (the suite's shared one) may be running: count, and compare.
    return sum(thread.name == "replicatehome-emulator" for thread in threading.enumerate())


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    before = emulator_threads()
    with Emulator(duration=0.05, starting=0.01) as emu:
        yield emu
    assert emulator_threads() == before


def test_sync_emulator_end_to_end(emulator: Emulator) -> None:
    assert emulator.url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=emulator.url, timeout=5, verify=TLS) as client:
        created = client.post("/api/prediction", json=body_for(SDXL.name, prompt="a fox"))
        assert created.status_code == 201
        for _ in range(MAX_POLLS):
            body = client.get("/api/poll", params={"id": created.json()["id"]}).json()
            if body["status"] not in ("starting", "processing"):
                break
            time.sleep(0.01)
        assert body["status"] == "succeeded"
        url = body["output"][0]
        assert url.startswith(f"{emulator.url}/files/")
        assert client.get(url).content.startswith(b"\x89PNG")
    assert emulator.stats.requests["create"] == 1


async def test_async_emulator_end_to_end() -> None:
    before = emulator_threads()
    async with (
        Emulator(duration=0.05, starting=0.01) as emu,
        httpx.AsyncClient(base_url=emu.url, timeout=5, verify=TLS) as client,
    ):
        created = await client.post("/api/prediction", json=body_for(prompt="hi"))
        for _ in range(MAX_POLLS):
            body = (await client.get("/api/poll", params={"id": created.json()["id"]})).json()
            if body["status"] == "succeeded":
                break
            await asyncio.sleep(0.01)
        assert "".join(body["output"]) == emulated_text(GEMMA.name, "hi")
    assert not emu.running
    assert emulator_threads() == before


def test_dropped_connection(emulator: Emulator) -> None:
    emulator.faults = Faults(drop_rate=1.0, max_faults=1)
    with httpx.Client(base_url=emulator.url, timeout=5, verify=TLS) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/api/prediction", json=body_for())
        assert client.post("/api/prediction", json=body_for()).status_code == 201
    assert emulator.stats.faults_by_kind == {"drop": 1}
    assert emulator.stats.predictions == 1


def test_emulator_stops_fast_and_can_restart() -> None:
    before = emulator_threads()
    emu = Emulator(duration=0.01)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.url
    emu.start()
    with pytest.raises(RuntimeError, match="already running"):
        emu.start()
    first = emu.url
    with httpx.Client(
        timeout=5, verify=TLS
    ) as client:  # an idle keep-alive connection must not hold stop
        assert client.get(f"{first}/api/poll").status_code == 400
        began = time.perf_counter()
        emu.stop()
        assert time.perf_counter() - began < 1.0
    emu.stop()  # stopping twice is harmless
    assert repr(emu) == "<Emulator not running>"
    with emu:
        assert emu.url.startswith("http://127.0.0.1:")
        assert emu.stats.requests == {"poll": 1}  # state survives a restart
    assert emulator_threads() == before


def test_a_body_over_the_cap_gets_its_413_over_a_socket(emulator: Emulator) -> None:
    with httpx.Client(base_url=emulator.url, timeout=5, verify=TLS) as client:
        too_large = homepage_body(prompt="x" * (2 * MAX_BODY_BYTES))
        response = client.post("/api/prediction", content=too_large)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/json"
        assert client.post("/api/prediction", json=body_for()).status_code == 201
    assert emulator.stats.predictions == 1


def test_a_busy_port_fails_to_start(emulator: Emulator) -> None:
    port = int(emulator.url.rpartition(":")[2])
    with pytest.raises(OSError):  # noqa: PT011 - the errno varies by platform
        Emulator(port=port).start()


def test_emulator_takes_a_config_or_options() -> None:
    config = EmulatorConfig(duration=0.01, faults=Faults(seed=3))
    emu = Emulator(config)
    assert emu.config is config
    assert emu.faults == Faults(seed=3)
    with pytest.raises(TypeError):
        Emulator(config, duration=1.0)


def test_importing_the_sdk_does_not_import_the_server_stack() -> None:
    code = (
        "import sys, replicatehome, replicatehome.emulator\n"
        "assert 'starlette' not in sys.modules and 'hypercorn' not in sys.modules\n"
        "from replicatehome.emulator import EmulatorApp\n"
        "assert 'starlette' not in sys.modules\n"
        "EmulatorApp()\n"
        "assert 'starlette' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    with pytest.raises(AttributeError):
        _ = replicatehome.emulator.NoSuchThing  # type: ignore[attr-defined]


def _exchange(sock: socket.socket, head: bytes, body: bytes) -> bytes:
    """Send a request in two writes, as real clients do, and read one whole answer."""
    sock.sendall(head)
    time.sleep(0.05)  # the answer may come before the body: the server must still read it
    sock.sendall(body)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536) or b"<closed>"
        assert not answer.endswith(b"<closed>"), "the server hung up without an answer"
    head_part, _, rest = answer.partition(b"\r\n\r\n")
    fields = dict(line.split(b": ", 1) for line in head_part.split(b"\r\n")[1:])
    length = int({k.lower(): v for k, v in fields.items()}[b"content-length"])
    while len(rest) < length:
        rest += sock.recv(65536)
    return head_part.split(b"\r\n")[0]


@pytest.mark.parametrize("fault", [{"server_error_rate": 1.0}, {"rate_limit_rate": 1.0}])
def test_a_faulted_create_leaves_its_keep_alive_connection_usable(fault: dict[str, float]) -> None:
    body = json.dumps({"version": GEMMA.version, "input": {"prompt": "x"}}).encode()
    faults = Faults(routes=frozenset({"create"}), **fault)  # type: ignore[arg-type]
    with (
        Emulator(duration=0.05, faults=faults) as emu,
        socket.create_connection(
            (httpx.URL(emu.url).host, httpx.URL(emu.url).port or 80), timeout=5
        ) as sock,
    ):
        head = (
            f"POST /api/prediction HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        statuses = [_exchange(sock, head, body) for _ in range(2)]

    assert all(status.split()[1] in (b"429", b"502", b"503", b"504") for status in statuses)
