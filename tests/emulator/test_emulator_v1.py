"""The emulator's official ``/v1`` API: auth, routes, ``Prefer: wait``, events, faults, and
replicate-python, the official client, run against it unchanged."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from replicate.client import Client as ReplicateClient
from replicate.exceptions import ModelError, ReplicateError
from replicate.helpers import FileOutput
from replicate.stream import ServerSentEvent

import replicatehome.emulator._follow
from replicatehome.catalog import ModelSpec
from replicatehome.emulator import (
    Emulator,
    EmulatorApp,
    EmulatorConfig,
    Faults,
    create_app,
    emulated_text,
)
from replicatehome.emulator._app import create_prediction
from replicatehome.emulator._follow import hold
from replicatehome.emulator._inputs import parse_input
from replicatehome.emulator._requests import MAX_BODY_BYTES, parse_prefer_wait
from replicatehome.emulator._state import emulated_tokens

from ..helpers import TLS, FakeClock
from .helpers import (
    AUTH,
    BAD_BODIES,
    BAD_INPUT_MEMBERS,
    BASE,
    GEMMA,
    SD3,
    SDXL,
    asgi_client,
    assert_problem,
    chunked,
    create,
    events_of,
    get,
    model_path,
    parse_events,
    text_of,
)

PNG = b"\x89PNG\r\n\x1a\n"
MAX_LINES = 2000


# --- in-process, on a fake clock --------------------------------------------------------------


ROUTES = [
    ("POST", model_path(GEMMA)),
    ("POST", "/v1/predictions"),
    ("GET", "/v1/predictions/abc"),
    ("POST", "/v1/predictions/abc/cancel"),
    ("GET", "/v1/predictions/abc/stream"),
    ("GET", f"/v1/models/{GEMMA.name}"),
    ("GET", f"/v1/models/{GEMMA.name}/versions/{GEMMA.version}"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "r8_x"])
async def test_every_route_needs_a_token(
    api: httpx.AsyncClient, app: EmulatorApp, method: str, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    api.headers.pop("Authorization")
    response = await api.request(method, path, json={"input": {"prompt": "x"}}, headers=headers)
    body = assert_problem(response, 401, "You did not pass an authentication token")
    assert body["title"] == "Unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"
    assert app.stats.predictions == 0


async def test_any_token_by_default_and_the_homepage_stays_anonymous(
    api: httpx.AsyncClient,
) -> None:
    assert (
        await api.get(f"/v1/models/{GEMMA.name}", headers={"Authorization": "Token t"})
    ).is_success
    api.headers.pop("Authorization")
    body = {"model": GEMMA.name, "version": GEMMA.version, "input": {"prompt": "hi"}}
    assert (await api.post("/api/prediction", json=body)).status_code == 201


async def test_configured_tokens(clock: FakeClock) -> None:
    app = create_app(EmulatorConfig(api_tokens=frozenset({"r8_good"})), clock=clock)
    async with asgi_client(app, headers={}) as http:
        path = f"/v1/models/{GEMMA.name}"
        assert (await http.get(path, headers={"Authorization": "Bearer r8_good"})).is_success
        refused = await http.get(path, headers={"Authorization": "Bearer r8_bad"})
        body = assert_problem(refused, 401, "You did not pass a valid authentication token")
        assert body["title"] == "Invalid token"
        assert "r8_bad" not in refused.text  # a token is never echoed


async def test_create_by_model_and_follow_it(api: httpx.AsyncClient, clock: FakeClock) -> None:
    response = await api.post(
        model_path(GEMMA),
        json={"input": {"prompt": "tell me"}, "stream": True, "webhook": "https://x.test/hook"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert "preference-applied" not in response.headers
    created = response.json()
    prediction_id = created["id"]
    here = f"{BASE}/v1/predictions/{prediction_id}"
    assert created["urls"] == {
        "get": here,
        "cancel": f"{here}/cancel",
        "stream": f"{here}/stream",
        "web": f"https://replicate.com/p/{prediction_id}",
    }
    assert created["status"] == "starting"
    assert created["output"] is None
    assert (created["model"], created["version"]) == (GEMMA.name, GEMMA.version)
    assert created["input"] == {"prompt": "tell me"}
    assert created["data_removed"] is False

    clock.now += 0.7
    halfway = await get(api, prediction_id)
    assert halfway["status"] == "processing"
    assert halfway["started_at"] is not None

    clock.now += 1
    done = await get(api, prediction_id)
    assert done["status"] == "succeeded"
    assert isinstance(done["output"], list)
    assert "".join(done["output"]) == emulated_text(GEMMA.name, "tell me")
    assert done["metrics"] == {"predict_time": 1.0, "total_time": 1.2}


async def test_both_protocols_share_the_predictions(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    official = await create(api)
    homepage_body = {"model": GEMMA.name, "version": GEMMA.version, "input": {"prompt": "hi"}}
    homepage = (await api.post("/api/prediction", json=homepage_body)).json()
    clock.now += 5
    polled = (await api.get("/api/poll", params={"id": str(official["id"])})).json()
    assert polled["status"] == "succeeded"
    assert polled["urls"] == {"get": f"{BASE}/api/poll?id={official['id']}"}
    assert (await get(api, homepage["id"]))["output"] == list(emulated_tokens(GEMMA.name, "hi"))


@pytest.mark.parametrize("reference", [SDXL.version, f"{SDXL.name}:{SDXL.version}"])
async def test_create_by_version_of_an_image_model(
    api: httpx.AsyncClient, clock: FakeClock, reference: str
) -> None:
    body = {"version": reference, "input": {"prompt": "a fox", "num_outputs": 2}}
    response = await api.post("/v1/predictions", json=body)
    assert response.status_code == 201
    created = response.json()
    assert (created["model"], created["version"]) == (SDXL.name, SDXL.version)
    assert set(created["urls"]) == {"get", "cancel", "web"}  # image models do not stream
    clock.now += 5
    done = await get(api, created["id"])
    assert done["output"] == [f"{BASE}/files/{created['id']}/out-{n}.png" for n in (0, 1)]
    api.headers.pop("Authorization")  # files need no token
    image = await api.get(done["output"][0])
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(PNG)


@pytest.mark.parametrize(
    ("path", "content", "status", "detail"),
    [
        (model_path(GEMMA), b"{not json", 400, "not valid JSON"),
        (model_path(GEMMA), b"[1]", 400, "must be a JSON object"),
        ("/v1/predictions", b"{oops", 400, "not valid JSON"),
        ("/v1/models/acme/nope/predictions", b"{}", 404, "acme/nope does not exist"),
        (model_path(GEMMA), b"{}", 422, "- input: Invalid type. Expected: object, given: null"),
        (model_path(GEMMA), b'{"input": [1]}', 422, "given: list"),
        (
            model_path(GEMMA),
            b'{"input": {"max_new_tokens": 0}}',
            422,
            "- input.max_new_tokens: Input should be greater than or equal to 1",
        ),
        (model_path(GEMMA), b'{"input": {"prompt": 3}}', 422, "- input.prompt: Input should be"),
        (
            model_path(SDXL),
            b'{"input": {"prompt": "p", "num_outputs": 11}}',
            422,
            "- input.num_outputs: Input should be less than or equal to 4",
        ),
        ("/v1/predictions", b'{"input": {"prompt": "p"}}', 422, "version does not exist"),
        ("/v1/predictions", b'{"version": 3, "input": {}}', 422, "version does not exist"),
        ("/v1/predictions", b'{"version": "abc", "input": {}}', 422, "version does not exist"),
        (
            "/v1/predictions",
            json.dumps({"version": f"{GEMMA.name}:{SD3.version}", "input": {}}).encode(),
            422,
            "version does not exist",
        ),
        (
            "/v1/predictions",
            json.dumps({"version": GEMMA.version, "input": {"prompt": None}}).encode(),
            422,
            "- input.prompt: Input should be a valid string",
        ),
    ],
)
async def test_create_validates_with_problem_details(
    api: httpx.AsyncClient,
    app: EmulatorApp,
    path: str,
    content: bytes,
    status: int,
    detail: str,
) -> None:
    body = assert_problem(await api.post(path, content=content), status, detail)
    if status == 422 and "input" in str(body["detail"]):
        assert body["title"] == "Input validation failed"
        assert isinstance(body["invalid_fields"], list)
        assert len(body["invalid_fields"]) == 1
    assert app.stats.predictions == 0


# Both create routes, each with a function that makes its body from raw JSON text: `member`
# goes into the input, after the prompt.
CREATE_ROUTES = [
    pytest.param(model_path(GEMMA), {}, id="by-model"),
    pytest.param("/v1/predictions", {"version": GEMMA.version}, id="by-version"),
]


def v1_body(head: dict[str, object], member: bytes = b"", prompt: str = "x") -> bytes:
    """A create body with the fields of `head`, and an input with `member` after the prompt."""
    text = json.dumps({**head, "input": {"prompt": prompt}})
    return text[:-2].encode() + (b", " + member if member else b"") + b"}}"


@pytest.mark.parametrize(("path", "head"), CREATE_ROUTES)
@pytest.mark.parametrize(("member", "detail"), BAD_INPUT_MEMBERS)
async def test_create_refuses_json_it_could_not_send_back(
    api: httpx.AsyncClient,
    app: EmulatorApp,
    clock: FakeClock,
    path: str,
    head: dict[str, object],
    member: bytes,
    detail: str,
) -> None:
    kept = await create(api)
    body = assert_problem(await api.post(path, content=v1_body(head, member)), 400, detail)
    assert body["title"] == "Bad request"
    assert app.stats.predictions == 1  # nothing stored
    clock.now += 5
    assert (await get(api, kept["id"]))["status"] == "succeeded"  # the others still render
    assert (await api.post(path, content=v1_body(head))).status_code == 201


@pytest.mark.parametrize("path", [model_path(GEMMA), "/v1/predictions"])
@pytest.mark.parametrize(("content", "detail"), BAD_BODIES)
async def test_create_refuses_bad_bodies(
    api: httpx.AsyncClient, app: EmulatorApp, path: str, content: bytes, detail: str
) -> None:
    assert_problem(await api.post(path, content=content), 400, detail)
    assert app.stats.predictions == 0


@pytest.mark.parametrize(("path", "head"), CREATE_ROUTES)
@pytest.mark.parametrize("declared", [True, False])
async def test_create_refuses_bodies_over_the_cap(
    api: httpx.AsyncClient, app: EmulatorApp, path: str, head: dict[str, object], declared: bool
) -> None:
    padding = "x" * (MAX_BODY_BYTES - len(v1_body(head, prompt="")))
    at_cap, over = v1_body(head, prompt=padding), v1_body(head, prompt=padding + "x")
    assert len(at_cap) == MAX_BODY_BYTES
    response = await api.post(path, content=over if declared else chunked(over))
    body = assert_problem(response, 413, f"larger than {MAX_BODY_BYTES} bytes")
    assert body["title"] == "Request body too large"
    assert app.stats.predictions == 0
    response = await api.post(path, content=at_cap if declared else chunked(at_cap))
    assert response.status_code == 201
    assert app.stats.predictions == 1


async def test_a_body_far_over_the_cap_is_not_read_to_its_end(
    api: httpx.AsyncClient, app: EmulatorApp
) -> None:
    sent, endless = 0, 100 * MAX_BODY_BYTES

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < endless:
            sent += 64 * 1024
            yield b"x" * (64 * 1024)

    assert_problem(await api.post(model_path(GEMMA), content=body()), 413)
    assert MAX_BODY_BYTES < sent < endless
    assert app.stats.predictions == 0


@pytest.fixture
def bounded(clock: FakeClock) -> EmulatorApp:
    """An app that keeps ended predictions 10 s, and 2 predictions at most."""
    config = EmulatorConfig(starting=0.2, duration=1.0, prediction_ttl=10.0, max_predictions=2)
    return create_app(config, clock=clock)


async def test_expired_and_evicted_predictions_are_404_on_v1(
    bounded_api: httpx.AsyncClient, bounded: EmulatorApp, clock: FakeClock
) -> None:
    first = await create(bounded_api)
    clock.now += 1.2 + 9.99
    assert len(await events_of(bounded_api, first["id"])) > 2  # still there: the whole stream
    clock.now += 0.02
    for method, suffix in [("GET", ""), ("POST", "/cancel"), ("GET", "/stream")]:
        response = await bounded_api.request(method, f"/v1/predictions/{first['id']}{suffix}")
        assert_problem(response, 404, f"Prediction {first['id']} not found")

    bounded.faults = Faults(never_finish=True)
    stuck = [await create(bounded_api), await create(bounded_api)]
    clock.now += 1e6  # running predictions never expire...
    assert [(await get(bounded_api, p["id"]))["status"] for p in stuck] == ["processing"] * 2
    newest = await create(bounded_api)  # ...but the cap evicts the oldest
    assert_problem(await bounded_api.get(f"/v1/predictions/{stuck[0]['id']}"), 404)
    assert (await get(bounded_api, stuck[1]["id"]))["status"] == "processing"
    assert len({first["id"], stuck[0]["id"], stuck[1]["id"], newest["id"]}) == 4
    assert bounded.stats.polls == {stuck[1]["id"]: 2}
    assert bounded.stats.predictions == 4


async def test_unknown_predictions_and_paths(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/v1/predictions/nope"), 404, "Prediction nope not found")
    assert_problem(await api.post("/v1/predictions/nope/cancel"), 404, "nope not found")
    assert_problem(await api.get("/v1/predictions/nope/stream"), 404, "nope not found")
    assert_problem(await api.get("/v1/nothing-here"), 404)
    wrong = await api.delete("/v1/predictions")
    assert_problem(wrong, 405)
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert (await api.get("/nothing-here")).json() == {"detail": "Not Found"}  # homepage style


async def test_cancel(api: httpx.AsyncClient, clock: FakeClock) -> None:
    created = await create(api, prompt="stop me")
    clock.now += 0.7
    running = await get(api, created["id"])
    response = await api.post(f"/v1/predictions/{created['id']}/cancel")
    assert response.status_code == 200
    canceled = response.json()
    assert canceled["status"] == "canceled"
    assert canceled["output"] == running["output"]  # the partial output is kept
    assert canceled["completed_at"] is not None
    assert canceled["error"] is None
    clock.now += 10
    assert await get(api, created["id"]) == canceled
    again = await api.post(f"/v1/predictions/{created['id']}/cancel")
    assert again.json() == canceled
    events = await events_of(api, created["id"])
    assert text_of(events) == "".join(running["output"])  # type: ignore[arg-type]
    assert (events[-1].event, json.loads(events[-1].data)) == ("done", {"reason": "canceled"})


async def test_cancel_while_starting_and_after_success(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    early = await create(api)
    canceled = (await api.post(f"/v1/predictions/{early['id']}/cancel")).json()
    assert (canceled["status"], canceled["output"]) == ("canceled", None)
    assert "started_at" not in canceled  # the API reference leaves out what has no value
    late = await create(api)
    clock.now += 5
    done = await get(api, late["id"])
    assert (await api.post(f"/v1/predictions/{late['id']}/cancel")).json() == done


async def test_stream_of_a_finished_prediction(api: httpx.AsyncClient, clock: FakeClock) -> None:
    prompt = "two\nlines"
    created = await create(api, prompt=prompt)
    clock.now += 5
    events = await events_of(api, created["id"])
    assert (events[0].event, events[0].data) == ("logs", "Starting prediction")
    assert text_of(events) == emulated_text(GEMMA.name, prompt)
    assert [event.event for event in events[1:-1]] == ["output"] * (len(events) - 2)
    assert (events[-1].event, events[-1].data) == ("done", "{}")


async def test_stream_of_a_failed_prediction(
    api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock
) -> None:
    app.faults = Faults(failure_rate=1.0)
    created = await create(api)
    clock.now += 5
    failed = await get(api, created["id"])
    assert failed["status"] == "failed"
    events = await events_of(api, created["id"])
    assert text_of(events) == "".join(failed["output"])  # type: ignore[arg-type]
    assert [event.event for event in events[-2:]] == ["error", "done"]
    assert json.loads(events[-2].data) == {"detail": failed["error"]}
    assert json.loads(events[-1].data) == {"reason": "error"}


async def test_image_predictions_do_not_stream(api: httpx.AsyncClient) -> None:
    created = await create(api, SD3)
    assert_problem(
        await api.get(f"/v1/predictions/{created['id']}/stream"), 404, "does not support streaming"
    )


@pytest.mark.parametrize(
    ("spec", "output"),
    [
        (
            GEMMA,
            {
                "type": "array",
                "items": {"type": "string"},
                "title": "Output",
                "x-cog-array-type": "iterator",
                "x-cog-array-display": "concatenate",
            },
        ),
        (SD3, {"type": "array", "items": {"type": "string", "format": "uri"}, "title": "Output"}),
    ],
)
async def test_model_and_version_routes(
    api: httpx.AsyncClient, spec: ModelSpec, output: dict[str, object]
) -> None:
    model = (await api.get(f"/v1/models/{spec.name}")).json()
    assert (model["owner"], model["name"]) == (spec.owner, spec.short_name)
    assert model["url"] == f"https://replicate.com/{spec.name}"
    assert model["visibility"] == "public"
    assert model["description"]
    version = model["latest_version"]
    assert version["id"] == spec.version
    assert version["openapi_schema"]["components"]["schemas"]["Output"] == output
    assert "prompt" in version["openapi_schema"]["components"]["schemas"]["Input"]["properties"]
    response = await api.get(f"/v1/models/{spec.name}/versions/{spec.version}")
    assert response.json() == version
    assert set(version) == {"id", "created_at", "cog_version", "openapi_schema"}


async def test_unknown_models_and_versions(api: httpx.AsyncClient) -> None:
    body = assert_problem(await api.get("/v1/models/acme/nope"), 404, GEMMA.name)
    assert body["title"] == "Model not found"
    assert_problem(await api.get("/v1/models/acme/nope/versions/abc"), 404, "acme/nope")
    body = assert_problem(await api.get(f"/v1/models/{GEMMA.name}/versions/{SD3.version}"), 404)
    assert body["title"] == "Version not found"


async def test_models_without_a_version_get_one(clock: FakeClock) -> None:
    custom = ModelSpec("acme/writer", None)
    app = create_app(EmulatorConfig(models=(custom,), starting=0, duration=0), clock=clock)
    async with asgi_client(app) as api:
        version = (await api.get("/v1/models/acme/writer")).json()["latest_version"]["id"]
        assert len(version) == 64
        body = {"version": version, "input": {"prompt": "x"}}
        created = (await api.post("/v1/predictions", json=body)).json()
        assert (created["model"], created["version"]) == (custom.name, version)
        assert "".join(created["output"]) == emulated_text(custom.name, "x")
        assert "stream" in created["urls"]  # a model of no kind writes text


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("respond-async", None),
        ("wait", 60),
        ("WAIT", 60),
        ("wait=1", 1),
        (" wait = 60 ", 60),
        ('wait="5"', 5),
        ("respond-async, wait=10", 10),
        ("wait=7; foo=bar", 7),
    ],
)
def test_prefer_wait_is_parsed(header: str | None, seconds: int | None) -> None:
    assert parse_prefer_wait(header) == seconds


@pytest.mark.parametrize("value", ["wait=0", "wait=61", "wait=abc", "wait=", "wait=-1", "wait=1.5"])
async def test_invalid_prefer_is_a_400(
    api: httpx.AsyncClient, app: EmulatorApp, value: str
) -> None:
    with pytest.raises(ValueError, match="Invalid Prefer header"):
        parse_prefer_wait(value)
    response = await api.post(
        model_path(GEMMA), json={"input": {"prompt": "x"}}, headers={"Prefer": value}
    )
    assert_problem(response, 400, "wait must be a whole number of seconds from 1 to 60")
    assert app.stats.predictions == 0


async def test_a_cancel_or_a_stopping_server_ends_a_hold(clock: FakeClock) -> None:
    app = EmulatorApp(
        EmulatorConfig(faults=Faults(never_finish=True)), clock=clock, wall_epoch=None
    )
    parsed = parse_input(app.config, GEMMA, {"prompt": "x"})

    async def held(stop: object) -> float:
        record = create_prediction(app, GEMMA, str(GEMMA.version), {"prompt": "x"}, parsed)
        task = asyncio.ensure_future(hold(app, record.id, 5))
        await asyncio.sleep(0.05)
        began = time.perf_counter()
        if stop == "cancel":
            app.store.cancel(record.id)
        else:
            app.draining = True
        await asyncio.wait_for(task, 1)
        return time.perf_counter() - began

    assert await held("cancel") < 0.3
    assert await held("drain") < 0.3
    app.draining = False
    record = create_prediction(app, GEMMA, str(GEMMA.version), {"prompt": "x"}, parsed)
    began = time.perf_counter()
    await hold(app, record.id, 0.1)  # the fake clock never moves: real time still runs out
    assert 0.1 <= time.perf_counter() - began < 0.5


# --- faults and counters ----------------------------------------------------------------------

V1_FAULT_ROUTES = [
    ("create", "POST", model_path(GEMMA)),
    ("create", "POST", "/v1/predictions"),
    ("poll", "GET", "/v1/predictions/{id}"),
    ("cancel", "POST", "/v1/predictions/{id}/cancel"),
    ("stream", "GET", "/v1/predictions/{id}/stream"),
    ("model", "GET", f"/v1/models/{GEMMA.name}"),
    ("model", "GET", f"/v1/models/{GEMMA.name}/versions/{GEMMA.version}"),
]


async def faulted(
    api: httpx.AsyncClient, app: EmulatorApp, faults: Faults, method: str, path: str
) -> httpx.Response:
    """Create a prediction, then send one request to `path` under `faults`."""
    prediction = await create(api)
    app.faults = faults
    body = {"version": GEMMA.version, "input": {"prompt": "x"}}
    return await api.request(method, path.format(id=prediction["id"]), json=body)


@pytest.mark.parametrize(("name", "method", "path"), V1_FAULT_ROUTES)
async def test_rate_limit_is_a_problem(
    api: httpx.AsyncClient, app: EmulatorApp, name: str, method: str, path: str
) -> None:
    faults = Faults(rate_limit_rate=1.0, retry_after=30, routes=frozenset({name}))
    response = await faulted(api, app, faults, method, path)
    body = assert_problem(response, 429)
    assert body["detail"] == "Request was throttled. Your rate limit resets in ~30s."
    assert body["title"] == "Request was throttled"
    assert response.headers["retry-after"] == "30"
    assert app.stats.faults_by_kind == {"rate_limit": 1}
    assert app.stats.predictions == 1  # the faulted create made nothing


@pytest.mark.parametrize(("name", "method", "path"), V1_FAULT_ROUTES)
async def test_gateway_errors_are_html(
    api: httpx.AsyncClient, app: EmulatorApp, name: str, method: str, path: str
) -> None:
    faults = Faults(server_error_rate=1.0, routes=frozenset({name}))
    response = await faulted(api, app, faults, method, path)
    assert response.status_code in {502, 503, 504}
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "nginx" in response.text


async def test_text_plain_slow_and_prediction_faults_on_v1(
    api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock
) -> None:
    every = frozenset({"create", "poll", "cancel", "model"})
    app.faults = Faults(text_plain=True, slow_seconds=0.02, failure_rate=1.0, routes=every)
    began = time.perf_counter()
    created = await api.post(model_path(GEMMA), json={"input": {"prompt": "x"}})
    assert time.perf_counter() - began >= 0.02
    assert created.headers["content-type"] == "text/plain; charset=utf-8"
    clock.now += 5
    failed = await api.get(f"/v1/predictions/{created.json()['id']}")
    assert failed.headers["content-type"] == "text/plain; charset=utf-8"
    assert failed.json()["status"] == "failed"
    missing = await api.get("/v1/models/acme/nope")  # problem bodies are JSON too
    assert missing.headers["content-type"] == "text/plain; charset=utf-8"
    assert missing.json()["status"] == 404

    app.faults = Faults(never_finish=True)
    stuck = await create(api)
    clock.now += 3600
    assert (await get(api, stuck["id"]))["status"] == "processing"


async def test_counters_name_the_v1_routes(
    api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock
) -> None:
    created = await create(api)
    await api.post("/v1/predictions", json={"version": GEMMA.version, "input": {"prompt": "x"}})
    clock.now += 5
    await get(api, created["id"])
    await get(api, created["id"])
    await api.get("/v1/predictions/unknown")
    await api.post(f"/v1/predictions/{created['id']}/cancel")
    await events_of(api, created["id"])
    await api.get(f"/v1/models/{GEMMA.name}")
    await api.get(f"/v1/models/{GEMMA.name}/versions/{GEMMA.version}")
    await api.get("/v1/predictions/x", headers={"Authorization": ""})  # refused, still counted
    assert app.stats.requests == {"create": 2, "poll": 4, "cancel": 1, "stream": 1, "model": 2}
    # Unknown ids are not remembered, and refused polls never got here.
    assert app.stats.polls == {created["id"]: 2}
    assert app.stats.predictions == 2


# --- over real sockets ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator(duration=0.2, starting=0.02) as emu:
        yield emu


def stream_lines(
    http: httpx.Client, url: str, stop: Callable[[list[str]], bool] = lambda lines: False
) -> list[str]:
    """The lines of an event stream, to its end, or until `stop` says so of the lines so far."""
    lines: list[str] = []
    with http.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
        assert response.headers["content-type"] == "text/event-stream"
        for line in response.iter_lines():
            lines.append(line)
            assert len(lines) < MAX_LINES
            if stop(lines):
                break  # leaving closes the connection
    return lines


def test_prefer_wait_holds_until_done(emu: Emulator, http: httpx.Client) -> None:
    for path, body in [
        (model_path(GEMMA), {"input": {"prompt": "hi"}}),
        ("/v1/predictions", {"version": SD3.version, "input": {"prompt": "hi"}}),
    ]:
        began = time.perf_counter()
        response = http.post(path, json=body, headers={"Prefer": "wait"})
        elapsed = time.perf_counter() - began
        assert response.status_code == 201
        assert response.headers["preference-applied"] == "wait"
        assert response.json()["status"] == "succeeded"
        # Held until the end, not the 60 s a hold may last (the upper bound leaves room for a
        # loaded machine).
        assert 0.2 <= elapsed < 3.0


def test_prefer_wait_that_times_out_answers_starting(emu: Emulator, http: httpx.Client) -> None:
    # The API reference: "If this time is exceeded the prediction will be returned in a
    # "starting" state". Replicate's own SDK takes anything else for a finished prediction.
    emu.faults = Faults(never_finish=True)
    began = time.perf_counter()
    response = http.post(
        model_path(GEMMA), json={"input": {"prompt": "x"}}, headers={"Prefer": "wait=1"}
    )
    elapsed = time.perf_counter() - began
    assert 1.0 <= elapsed < 3.0  # the 1 s asked for, not the default 60 s
    assert response.headers["preference-applied"] == "wait"
    held = response.json()
    assert (held["status"], held["output"], held["logs"]) == ("starting", None, "")
    assert "started_at" not in held
    polled = http.get(held["urls"]["get"]).json()
    assert polled["status"] == "processing"
    assert polled["output"]


def test_dropped_v1_requests(emu: Emulator, http: httpx.Client) -> None:
    emu.faults = Faults(drop_rate=1.0, max_faults=1)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(model_path(GEMMA), json={"input": {"prompt": "x"}})
    assert emu.stats.predictions == 0
    created = http.post(model_path(GEMMA), json={"input": {"prompt": "x"}}).json()

    emu.faults = Faults(drop_rate=1.0, routes=frozenset({"stream"}))
    lines: list[str] = []
    with (  # noqa: PT012 - the lines come first
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("GET", created["urls"]["stream"]) as response,
    ):
        assert response.headers["content-type"] == "text/event-stream"
        lines.extend(response.iter_lines())
    assert lines[:3] == ["event: logs", "id: 1", "data: Starting prediction"]
    assert emu.stats.faults_by_kind == {"drop": 2}


def test_bodies_over_the_cap_get_their_413_over_a_socket(emu: Emulator, http: httpx.Client) -> None:
    too_large = v1_body({}, prompt="x" * (2 * MAX_BODY_BYTES))
    for content in (too_large, iter([too_large])):  # with a Content-Length, and chunked
        response = http.post(model_path(GEMMA), content=content)
        assert_problem(response, 413, f"larger than {MAX_BODY_BYTES} bytes")
    assert http.post(model_path(GEMMA), content=v1_body({})).status_code == 201
    assert emu.stats.predictions == 1


# --- event streams, live ----------------------------------------------------------------------


def test_stream_follows_a_prediction_as_it_runs(emu: Emulator, http: httpx.Client) -> None:
    created = http.post(model_path(GEMMA), json={"input": {"prompt": "a\nb"}}).json()
    arrivals: list[tuple[float, str]] = []
    began = time.perf_counter()
    with http.stream("GET", created["urls"]["stream"]) as response:
        for line in response.iter_lines():
            arrivals.append((time.perf_counter() - began, line))
            assert len(arrivals) < MAX_LINES
    events, comments = parse_events([line for _, line in arrivals])
    assert comments == 0
    assert text_of(events) == emulated_text(GEMMA.name, "a\nb")
    assert [int(event.id) for event in events] == list(range(1, len(events) + 1))
    assert (events[-1].event, events[-1].data) == ("done", "{}")
    first_output = next(at for at, line in arrivals if line == "event: output")
    done = next(at for at, line in arrivals if line == "event: done")
    assert done - first_output >= 0.1  # tokens came over the 0.2 s of processing, not at once
    assert done < 1.0


def test_stream_of_a_canceled_prediction(emu: Emulator, http: httpx.Client) -> None:
    emu.faults = Faults(never_finish=True)
    created = http.post(model_path(GEMMA), json={"input": {"prompt": "x"}}).json()

    def cancel_at_output(lines: list[str]) -> bool:
        if lines[-1] == "event: output":
            assert http.post(created["urls"]["cancel"]).json()["status"] == "canceled"
        return False

    lines = stream_lines(http, created["urls"]["stream"], cancel_at_output)
    events, _ = parse_events(lines)
    assert (events[-1].event, json.loads(events[-1].data)) == ("done", {"reason": "canceled"})
    assert text_of(events) == "".join(http.get(created["urls"]["get"]).json()["output"])


def test_a_stuck_stream_keeps_alive_until_the_client_leaves(
    emu: Emulator, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replicatehome.emulator._follow, "KEEP_ALIVE", 0.05)
    emu.faults = Faults(never_finish=True)
    created = http.post(model_path(GEMMA), json={"input": {"prompt": "x"}}).json()
    lines = stream_lines(
        http, created["urls"]["stream"], lambda lines: lines.count(": keep-alive") == 3
    )
    events, comments = parse_events(lines)
    assert comments == 3
    assert "done" not in [event.event for event in events]
    assert text_of(events) + "model." == emulated_text(GEMMA.name, "x")  # all but the last token
    assert http.get(created["urls"]["get"]).json()["status"] == "processing"


def test_stop_ends_open_streams_and_holds_at_once() -> None:
    results: dict[str, object] = {}
    with (
        Emulator(duration=0.05, starting=0.01, faults=Faults(never_finish=True)) as emu,
        httpx.Client(base_url=emu.url, headers=AUTH, timeout=10, verify=TLS) as http,
    ):
        created = http.post(model_path(GEMMA), json={"input": {"prompt": "x"}}).json()

        def read_stream() -> None:
            results["lines"] = stream_lines(http, created["urls"]["stream"])

        def held_create() -> None:
            body = {"input": {"prompt": "y"}}
            headers = {"Prefer": "wait=60"}
            results["held"] = http.post(model_path(GEMMA), json=body, headers=headers)

        threads = [threading.Thread(target=read_stream), threading.Thread(target=held_create)]
        for thread in threads:
            thread.start()
        for _ in range(200):  # until both requests are in
            if emu.stats.requests.get("create") == 2 and emu.stats.requests.get("stream"):
                break
            time.sleep(0.01)
        time.sleep(0.1)
        began = time.perf_counter()
        emu.stop()
        assert time.perf_counter() - began < 0.8  # not the 1 s graceful timeout, nor 60 s
        for thread in threads:
            thread.join(5)
    held = results["held"]
    assert isinstance(held, httpx.Response)
    assert held.json()["status"] == "starting"  # not ended: shown as created
    lines = results["lines"]
    assert isinstance(lines, list)
    events, _ = parse_events(lines)
    assert events
    assert "done" not in [event.event for event in events]


# --- replicate-python, the official client ----------------------------------------------------


@pytest.fixture(scope="module")
def replicate_client(server: Emulator) -> Iterator[ReplicateClient]:
    # One for the module: each new client builds its own TLS settings, ~50 ms of CPU.
    client = ReplicateClient(api_token="r8_test", base_url=server.url)
    client.poll_interval = 0.01
    yield client
    client._client.close()


@pytest.fixture
def official(emu: Emulator, replicate_client: ReplicateClient) -> ReplicateClient:
    return replicate_client


@pytest.fixture
async def async_official(emu: Emulator) -> AsyncIterator[ReplicateClient]:
    client = ReplicateClient(api_token="r8_test", base_url=emu.url)
    client.poll_interval = 0.01
    yield client
    await client._async_client.aclose()


def read_image(item: object) -> bytes:
    # replicate-python wraps only https: and data: URLs in FileOutput; the emulator's are http:.
    if isinstance(item, FileOutput):
        return item.read()
    assert isinstance(item, str)
    return httpx.get(item, timeout=5, verify=TLS).content


def test_replicate_run_text(emu: Emulator, official: ReplicateClient) -> None:
    output = official.run(GEMMA.name, input={"prompt": "Hi"})
    assert "".join(output) == emulated_text(GEMMA.name, "Hi")
    assert emu.stats.requests == {"create": 1}  # Prefer: wait answered it: no poll


def test_replicate_run_by_version_reads_the_version(
    emu: Emulator, official: ReplicateClient
) -> None:
    output = official.run(f"{GEMMA.name}:{GEMMA.version}", input={"prompt": "Hi"})
    assert not isinstance(output, list)  # the schema says "iterator"
    assert "".join(output) == emulated_text(GEMMA.name, "Hi")
    assert emu.stats.requests == {"create": 1, "model": 1}


def test_replicate_run_image(emu: Emulator, official: ReplicateClient) -> None:
    output = official.run(SD3.name, input={"prompt": "A dog"})
    assert isinstance(output, list)
    assert len(output) == 1
    assert str(output[0]).startswith(f"{emu.url}/files/")
    assert read_image(output[0]).startswith(b"RIFF")  # SD3's default output_format: webp
    [png] = official.run(SD3.name, input={"prompt": "A dog", "output_format": "png"})
    assert read_image(png).startswith(PNG)


def test_replicate_gets_its_error_for_an_invalid_input(
    emu: Emulator, official: ReplicateClient
) -> None:
    bad = {"prompt": "A dog", "aspect_ratio": "16x9", "steps": 40}
    with pytest.raises(ReplicateError) as run:
        official.run(SD3.name, input=bad)
    assert (run.value.status, run.value.title) == (422, "Input validation failed")
    assert run.value.detail is not None
    assert "- input.aspect_ratio: Input should be '1:1'" in run.value.detail
    assert "- input.steps: Input should be less than or equal to 28" in run.value.detail
    with pytest.raises(ReplicateError) as create:
        official.predictions.create(version=str(SD3.version), input=bad)
    assert create.value.status == 422
    assert emu.stats.predictions == 0


def test_replicate_stream(official: ReplicateClient) -> None:
    events = list(official.stream(GEMMA.name, input={"prompt": "Hello there"}))
    assert "".join(str(event) for event in events) == emulated_text(GEMMA.name, "Hello there")
    assert events[-1].event == ServerSentEvent.EventType.DONE
    assert events[0].event == ServerSentEvent.EventType.LOGS


def test_replicate_predictions(emu: Emulator, official: ReplicateClient) -> None:
    text = official.predictions.create(model=GEMMA.name, input={"prompt": "Hi"})
    assert text.urls is not None
    assert text.urls["stream"].endswith(f"/v1/predictions/{text.id}/stream")
    text.wait()
    assert official.predictions.get(text.id).status == "succeeded"
    assert isinstance(text.output, list)
    assert "".join(text.output) == emulated_text(GEMMA.name, "Hi")

    image = official.predictions.create(version=str(SDXL.version), input={"prompt": "A fox"})
    image.wait()
    assert image.model == SDXL.name
    assert isinstance(image.output, list)
    assert read_image(image.output[0]).startswith(PNG)

    emu.faults = Faults(never_finish=True)
    stuck = official.predictions.create(model=GEMMA.name, input={"prompt": "Hi"})
    stuck.cancel()
    assert stuck.status == "canceled"
    assert official.predictions.get(stuck.id).status == "canceled"


def test_replicate_errors(
    emu: Emulator, official: ReplicateClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.faults = Faults(failure_rate=1.0)
    with pytest.raises(ModelError) as failed:
        official.run(GEMMA.name, input={"prompt": "Hi"})
    assert failed.value.prediction.status == "failed"
    assert failed.value.prediction.error

    with pytest.raises(ReplicateError) as unknown:
        official.run("acme/nope", input={"prompt": "Hi"})
    assert (unknown.value.status, unknown.value.title) == (404, "Model not found")

    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    anonymous = ReplicateClient(base_url=emu.url)
    try:
        with pytest.raises(ReplicateError) as refused:
            anonymous.run(GEMMA.name, input={"prompt": "Hi"})
    finally:
        anonymous._client.close()
    assert refused.value.status == 401
    assert refused.value.detail == "You did not pass an authentication token"


async def test_replicate_async(async_official: ReplicateClient) -> None:
    output = await async_official.async_run(GEMMA.name, input={"prompt": "Hi"})
    assert isinstance(output, list)
    assert "".join(output) == emulated_text(GEMMA.name, "Hi")
    chunks = [
        str(event)
        async for event in await async_official.async_stream(GEMMA.name, {"prompt": "Yo"})
    ]
    assert "".join(chunks) == emulated_text(GEMMA.name, "Yo")
