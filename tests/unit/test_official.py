"""The official /v1 backend through both clients, with respx: routes, auth, sync mode, SSE."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

import replicatehome._lifecycle
from replicatehome import (
    AsyncClient,
    AuthenticationError,
    Client,
    PredictionDataRemovedError,
    PredictionFailedError,
    PredictionTimeoutError,
    RateLimitError,
    UnknownModelError,
    UnprocessableEntityError,
    UnsupportedFeatureError,
)

from ..helpers import (
    BASE_URL,
    GEMMA_VERSION,
    TOKEN,
    AnyClient,
    call,
    chunks,
    handle,
)

GEMMA = "google-deepmind/gemma-2b-it"
STREAM_URL = f"{BASE_URL}/v1/predictions/p1/stream"


def official(
    status: str = "starting", output: object = None, **fields: object
) -> dict[str, object]:
    """A /v1 prediction body; text predictions can stream."""
    body: dict[str, object] = {
        "id": "p1",
        "model": GEMMA,
        "status": status,
        "output": output,
        "urls": {
            "get": f"{BASE_URL}/v1/predictions/p1",
            "cancel": f"{BASE_URL}/v1/predictions/p1/cancel",
            "stream": STREAM_URL,
        },
    }
    return body | fields


def sse(*events: tuple[str, str]) -> bytes:
    return b"".join(f"event: {name}\ndata: {data}\n\n".encode() for name, data in events)


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_a_token_selects_the_official_backend(
    cls: type[AnyClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPLICATEHOME_BASE_URL")
    assert cls().backend == "homepage"
    assert cls(api_token=TOKEN).backend == "official"
    assert cls(api_token=TOKEN).base_url == "https://api.replicate.com"
    assert cls(api_token=TOKEN, backend="homepage").backend == "homepage"
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    assert cls().backend == "official"
    assert cls(backend="homepage").base_url == "https://homepage.replicate.com"
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    with pytest.raises(ValueError, match="needs an API token"):
        cls(backend="official")
    with pytest.raises(ValueError, match="backend must be"):
        cls(backend="other")  # type: ignore[arg-type]


async def test_catalog_models_run_their_pinned_version_with_the_token(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    # Not /v1/models/{owner}/{name}/predictions: the real API serves that route for official
    # models only, and gemma-2b-it is a community model.
    create = mock.post("/v1/predictions").respond(201, json=official("succeeded", ["Hi"]))

    result = await call(live.generate_text("Hello", max_new_tokens=5))

    request = create.calls[0].request
    assert result.text == "Hi"
    assert json.loads(request.content) == {
        "version": GEMMA_VERSION,
        "input": {"prompt": "Hello", "max_new_tokens": 5},
    }
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Origin" not in request.headers
    # Sync mode: the create holds until the end, and its read timeout outlasts the hold.
    assert request.headers["Prefer"] == "wait=60"
    assert request.extensions["timeout"]["read"] == 65


async def test_an_explicit_version_uses_the_predictions_route(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/v1/predictions").respond(201, json=official("succeeded", ["ok"]))

    await call(live.generate_text("x", version="abc"))
    await call(live.generate_text("x", model="meta/llama:def"))

    assert json.loads(create.calls[0].request.content)["version"] == "abc"
    assert json.loads(create.calls[1].request.content)["version"] == "def"


async def test_any_model_runs_without_a_version(live: AnyClient, mock: respx.MockRouter) -> None:
    create = mock.post("/v1/models/meta/llama-3/predictions").respond(
        201, json=official("succeeded", ["ok"])
    )

    p = await handle(live.predictions.create("meta/llama-3", input={"prompt": "x"}))

    assert create.called
    assert "Prefer" not in create.calls[0].request.headers  # only generate_* holds
    assert p.status == "succeeded"


@pytest.mark.parametrize("name", ["meta/llama?x=1", "meta/llama#x", "../v1", "meta/..", "a/b%2f"])
async def test_a_model_name_that_would_change_the_url_is_refused_before_any_request(
    live: AnyClient, mock: respx.MockRouter, name: str
) -> None:
    with pytest.raises(UnknownModelError):
        await handle(live.predictions.create(name, input={"prompt": "x"}))

    assert not mock.calls


class EndsAtDone(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An event stream that fails the test if it is read past the chunk with its done event."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self.body
        raise AssertionError("the event stream was read past its done event")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body
        raise AssertionError("the event stream was read past its done event")


async def test_a_hold_that_expires_falls_back_to_the_stream(
    live: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/v1/predictions").respond(201, json=official("processing", ["a"]))
    # A server may keep the connection open after done: the client must stop reading there.
    body = EndsAtDone(sse(("output", "a"), ("output", "b"), ("done", "{}")))
    stream = mock.get(STREAM_URL).mock(return_value=httpx.Response(200, stream=body))
    get = mock.get("/v1/predictions/p1").respond(200, json=official("succeeded", ["a", "b"]))

    result = await call(live.generate_text("x"))

    assert result.text == "ab"
    assert stream.calls[0].request.headers["Accept"] == "text/event-stream"
    assert stream.calls[0].request.headers["Cache-Control"] == "no-store"
    assert get.call_count == 1  # one read of the final state, no polling
    assert sleeps == []  # read at once, not a poll interval later


async def test_stream_text_reads_server_sent_events(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/v1/predictions").respond(201, json=official())
    mock.get(STREAM_URL).respond(
        200,
        headers={"Content-Type": "text/event-stream"},
        content=sse(
            ("output", "Once"),
            ("logs", "warming up"),
            ("output", " upon"),
            ("output", " a time"),
            ("done", "{}"),
        ),
    )
    mock.get("/v1/predictions/p1").respond(
        200, json=official("succeeded", ["Once", " upon", " a time"])
    )

    parts = [chunk async for chunk in chunks(live.stream_text("Tell a story"))]

    assert parts == ["Once", " upon", " a time"]
    assert "Prefer" not in create.calls[0].request.headers


@pytest.mark.parametrize("every", [0.0, 3600.0])
async def test_a_stream_keeps_logs_current_and_tells_on_update_as_it_goes(
    live: AnyClient, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, every: float
) -> None:
    monkeypatch.setattr(replicatehome._lifecycle, "UPDATE_EVERY", every)
    mock.post("/v1/predictions").respond(201, json=official())
    mock.get(STREAM_URL).respond(
        200,
        content=sse(
            ("logs", "loading weights"),
            ("output", "Once"),
            ("logs", "step 1"),
            ("output", " upon"),
            ("done", "{}"),
        ),
    )
    mock.get("/v1/predictions/p1").respond(
        200, json=official("succeeded", ["Once", " upon"], logs="loading weights\nstep 1\n")
    )
    p = await handle(live.predictions.create("gemma-2b", input={"prompt": "x"}))
    seen: list[tuple[object, str | None]] = []

    await call(p.wait(on_update=lambda s: seen.append((s.output, s.logs))))

    everything = [
        (None, "loading weights\n"),
        (["Once"], "loading weights\n"),
        (["Once"], "loading weights\nstep 1\n"),
        (["Once", " upon"], "loading weights\nstep 1\n"),
    ]
    final = everything[-1]  # the read of the final state, after the stream
    # Every event with no gap asked for; else the first at once, and no more than one an hour.
    assert seen == (everything if every == 0 else everything[:1]) + [final]
    assert p.logs == "loading weights\nstep 1\n"


async def test_a_generate_call_that_times_out_cancels_its_prediction(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/v1/predictions").respond(201, json=official("processing"))
    mock.get(STREAM_URL).respond(503)
    mock.get("/v1/predictions/p1").respond(200, json=official("processing"))
    cancel = mock.post("/v1/predictions/p1/cancel").respond(200, json=official("canceled"))

    with pytest.raises(PredictionTimeoutError):
        await call(live.generate_text("x", wait_timeout=0.2))

    assert cancel.call_count == 1  # the caller has no handle to cancel it with


async def test_a_handle_that_times_out_leaves_its_prediction_running(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    mock.get(STREAM_URL).respond(503)
    mock.get("/v1/predictions/p1").respond(200, json=official("processing"))
    cancel = mock.post("/v1/predictions/p1/cancel").respond(200, json=official("canceled"))
    p = await handle(live.predictions.get("p1"))

    with pytest.raises(PredictionTimeoutError):
        await call(p.wait(timeout=0.2))

    assert cancel.call_count == 0  # the caller holds the handle: its choice


async def test_a_cancel_that_fails_after_a_timeout_still_raises_the_timeout(
    live: AnyClient, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.post("/v1/predictions").respond(201, json=official("processing"))
    mock.get(STREAM_URL).respond(503)
    mock.get("/v1/predictions/p1").respond(200, json=official("processing"))
    mock.post("/v1/predictions/p1/cancel").respond(404)

    with (
        caplog.at_level(logging.WARNING, logger="replicatehome"),
        pytest.raises(PredictionTimeoutError),
    ):
        await call(live.generate_text("x", wait_timeout=0.2))

    assert "Could not cancel p1" in caplog.text


async def test_an_error_event_ends_in_prediction_failed(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/v1/predictions").respond(201, json=official())
    mock.get(STREAM_URL).respond(
        200,
        content=sse(
            ("output", "par"),
            ("error", '{"detail": "CUDA out of memory"}'),
            ("done", '{"reason": "error"}'),
        ),
    )
    mock.get("/v1/predictions/p1").respond(
        200, json=official("failed", ["par"], error="CUDA out of memory")
    )

    with pytest.raises(PredictionFailedError, match="CUDA out of memory"):
        await call(live.generate_text("x"))


class BrokenStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An event stream that sends some events, then loses its connection."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self.body
        raise httpx.RemoteProtocolError("peer closed connection")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body
        raise httpx.RemoteProtocolError("peer closed connection")


async def test_a_broken_stream_falls_back_to_polling_without_repeating_text(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/v1/predictions").respond(201, json=official())
    mock.get(STREAM_URL).mock(
        return_value=httpx.Response(200, stream=BrokenStream(sse(("output", "Hel"))))
    )
    mock.get("/v1/predictions/p1").mock(
        side_effect=[
            httpx.Response(200, json=official("processing", ["Hel", "lo"])),
            httpx.Response(200, json=official("succeeded", ["Hel", "lo", "!"])),
        ]
    )

    parts = [chunk async for chunk in chunks(live.stream_text("x"))]

    assert parts == ["Hel", "lo", "!"]


async def test_a_stream_that_cannot_open_falls_back_to_polling(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/v1/predictions").respond(201, json=official())
    mock.get(STREAM_URL).respond(404, json={"detail": "no stream"})
    mock.get("/v1/predictions/p1").respond(200, json=official("succeeded", ["done"]))

    assert await call(live.generate_text("x")) is not None


async def test_cancel(live: AnyClient, mock: respx.MockRouter) -> None:
    mock.post("/v1/predictions").respond(201, json=official("processing"))
    cancel = mock.post("/v1/predictions/p1/cancel").respond(200, json=official("canceled"))

    p = await handle(live.predictions.create("gemma-2b", input={"prompt": "x"}))
    assert await handle(p.cancel()) is p

    assert p.status == "canceled"
    assert cancel.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_cancel_on_the_homepage_says_it_cannot(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    mock.get("/api/poll").respond(200, json={"id": "p1", "status": "processing"})
    p = await handle(client.predictions.get("p1"))

    with pytest.raises(UnsupportedFeatureError, match="cannot cancel"):
        await handle(p.cancel())

    assert mock.calls.call_count == 1


async def test_problem_details_become_typed_errors(
    live: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    problem = {"Content-Type": "application/problem+json"}
    mock.post("/v1/predictions").mock(
        side_effect=[
            httpx.Response(
                401,
                headers=problem,
                json={"title": "Unauthenticated", "detail": "Invalid token.", "status": 401},
            ),
            httpx.Response(
                422,
                headers=problem,
                json={"title": "Input validation failed", "detail": "prompt is required"},
            ),
            httpx.Response(
                429,
                headers={**problem, "Retry-After": "4"},
                json={"detail": "Request was throttled. Your rate limit resets in ~30s."},
            ),
            httpx.Response(429, headers=problem, json={"detail": "Request was throttled."}),
            httpx.Response(429, headers=problem, json={"detail": "Request was throttled."}),
        ]
    )

    with pytest.raises(AuthenticationError, match="Invalid token") as unauthenticated:
        await call(live.generate_text("x"))
    with pytest.raises(UnprocessableEntityError, match="prompt is required"):
        await call(live.generate_text("x"))
    with pytest.raises(RateLimitError, match="throttled"):
        await call(live.generate_text("x"))

    assert TOKEN not in str(unauthenticated.value)
    assert sleeps[0] >= 4.0


async def test_the_token_never_shows(
    live: AnyClient, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.post("/v1/predictions").respond(201, json=official("succeeded", ["x"]))

    with caplog.at_level(logging.DEBUG, logger="replicatehome"):
        result = await call(live.generate_text("x"))

    assert TOKEN not in repr(live)
    assert "official" in repr(live)
    assert TOKEN not in caplog.text
    assert "'authorization': '[redacted]'" in caplog.text
    assert TOKEN not in result.prediction.model_dump_json()


async def test_data_uri_images_are_decoded_without_a_request(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    mock.post("/v1/predictions").respond(
        201, json=official("succeeded", [uri], model="stability-ai/stable-diffusion-3")
    )

    image = await call(live.generate_image("x"))
    data = image.read() if isinstance(live, Client) else await image.aread()

    assert data == png
    assert mock.calls.call_count == 1


async def test_removed_output_is_a_clear_error(live: AnyClient, mock: respx.MockRouter) -> None:
    mock.get("/v1/predictions/p1").respond(200, json=official("succeeded", None, data_removed=True))

    p = await handle(live.predictions.get("p1"))

    assert p.data_removed is True
    with pytest.raises(PredictionDataRemovedError, match="removed"):
        _ = p.result
