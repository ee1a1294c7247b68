"""Prediction handles: create, get, refresh, wait, stream and result, through both clients."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx

import replicatehome._async_driver
import replicatehome._sync_driver
from replicatehome import (
    AsyncPrediction,
    ImageResult,
    OutputResult,
    Prediction,
    PredictionCanceledError,
    PredictionFailedError,
    PredictionNotFinishedError,
    PredictionStatus,
    PredictionTimeoutError,
    TextResult,
)

from ..helpers import AnyClient, Mode, answer, call, close, collect, handle, make_client, prediction


async def test_create_returns_at_once_and_wait_returns_the_typed_result(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    poll = mock.get("/api/poll").mock(
        side_effect=[answer("processing", ["H"]), answer("succeeded", ["H", "i"])]
    )

    p = await handle(client.predictions.create(model="gemma-2b", input={"prompt": "Hi"}))

    assert isinstance(p, Prediction | AsyncPrediction)
    assert (p.id, p.status, p.model) == ("p1", "starting", "google-deepmind/gemma-2b-it")
    assert poll.call_count == 0
    with pytest.raises(PredictionNotFinishedError, match=r"call \.wait\(\)"):
        _ = p.result

    result = await call(p.wait(timeout=60))

    assert isinstance(result, TextResult)
    assert result.text == "Hi"
    assert p.result is result
    assert p.status is PredictionStatus.SUCCEEDED
    assert p.output == ["H", "i"]


async def test_get_and_refresh_follow_the_server(client: AnyClient, mock: respx.MockRouter) -> None:
    mock.get("/api/poll", params={"id": "abc"}).mock(
        side_effect=[
            answer("processing", None, id="abc", model="stability-ai/stable-diffusion-3"),
            answer(
                "succeeded",
                ["http://homepage.test/files/abc.png"],
                id="abc",
                model="stability-ai/stable-diffusion-3",
                logs="step 1\n",
            ),
        ]
    )

    p = await handle(client.predictions.get("abc"))
    assert p.status == "processing"
    assert p.output is None

    assert await handle(p.refresh()) is p
    assert p.status == "succeeded"
    assert p.logs == "step 1\n"
    assert isinstance(p.result, ImageResult)
    assert p.result.url == "http://homepage.test/files/abc.png"


async def test_typed_fields_are_exposed(client: AnyClient, mock: respx.MockRouter) -> None:
    mock.get("/api/poll").mock(
        return_value=answer(
            "succeeded",
            "x",
            version="v1",
            input={"prompt": "hi"},
            created_at="2026-01-01T00:00:00.000000Z",
            started_at="2026-01-01T00:00:01Z",
            completed_at="2026-01-01T00:00:02Z",
            urls={"get": "g", "web": "w"},
            metrics={"predict_time": 1.0, "total_time": 2.0},
        )
    )

    p = await handle(client.predictions.get("p1"))

    assert (p.version, p.input, p.error) == ("v1", {"prompt": "hi"}, None)
    assert p.created_at is not None
    assert p.created_at.year == 2026
    assert p.started_at is not None
    assert p.completed_at is not None
    assert p.urls is not None
    assert p.urls.web == "w"
    assert p.metrics is not None
    assert p.metrics.total_time == 2.0
    assert p.snapshot.data_removed is None
    assert "id='p1'" in repr(p)
    assert "succeeded" in repr(p)


async def test_prediction_stream_yields_text_from_the_start(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("processing", ["a"]))
    mock.get("/api/poll").mock(
        side_effect=[answer("processing", ["a", "b"]), answer("succeeded", ["a", "b", "c"])]
    )

    p = await handle(client.predictions.create("gemma-2b", input={"prompt": "x"}))

    assert await collect(p.stream()) == ["a", "b", "c"]
    assert p.result.text == "abc"


async def test_failed_prediction_raises_with_the_servers_error(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    mock.get("/api/poll").mock(return_value=answer("failed", None, error="CUDA out of memory"))

    with pytest.raises(PredictionFailedError, match="CUDA out of memory") as caught:
        await call(client.generate_text("hi"))

    assert caught.value.prediction.status == "failed"
    assert caught.value.prediction.error == "CUDA out of memory"


async def test_failed_prediction_result_and_stream_raise_too(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("processing", ["par"]))
    mock.get("/api/poll").mock(return_value=answer("failed", ["par", "tial"], error="boom"))
    p = await handle(client.predictions.create("gemma-2b", input={"prompt": "x"}))

    got: list[str] = []
    with pytest.raises(PredictionFailedError, match="boom"):
        got.extend(await collect(p.stream()))
    with pytest.raises(PredictionFailedError, match="boom"):
        _ = p.result


async def test_canceled_prediction_raises_canceled(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    mock.get("/api/poll").mock(return_value=answer("canceled"))

    with pytest.raises(PredictionCanceledError, match="canceled"):
        await call(client.generate_text("hi"))


@pytest.mark.parametrize("status", ["processing", "aborted"])
async def test_a_prediction_that_never_ends_times_out_at_its_deadline(
    mode: Mode, mock: respx.MockRouter, status: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real sleeps, recorded: the deadline is real time. The steady rhythm alone (0.5 s, 0.5 s)
    # would sleep until 1 s; the last sleep must be cut to end at 0.7 s.
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    async def async_sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(seconds)

    monkeypatch.setattr(replicatehome._sync_driver, "sleep", sleep)
    monkeypatch.setattr(replicatehome._async_driver, "async_sleep", async_sleep)
    client = make_client(mode, wait_timeout=0.7, poll_interval=5.0)
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    poll = mock.get("/api/poll").mock(return_value=answer(status, ["..."]))

    with pytest.raises(PredictionTimeoutError, match="timed out") as caught:
        await call(client.generate_text("hi"))
    await close(client)

    assert caught.value.prediction.status == status  # unknown statuses are not success
    assert caught.value.timeout == 0.7
    assert slept[0] == pytest.approx(0.5)
    assert slept[1] < 0.5
    assert sum(slept) <= 0.7
    # The poll due at the deadline is not sent: its answer could not be waited for.
    assert poll.call_count == len(slept) - 1


async def test_wait_timeout_argument_overrides_the_clients(
    bounded: AnyClient, mock: respx.MockRouter
) -> None:
    mock.get("/api/poll").mock(return_value=answer("processing"))
    p = await handle(bounded.predictions.get("p1"))

    with pytest.raises(PredictionTimeoutError) as caught:
        await call(p.wait(timeout=0.1))

    assert caught.value.timeout == 0.1


async def test_models_outside_the_catalog_give_their_output_as_sent(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/api/prediction").mock(
        side_effect=[
            httpx.Response(201, json=prediction("succeeded", ["https://x.test/1.webp"])),
            httpx.Response(201, json=prediction("succeeded", ["Hel", "lo"])),
        ]
    )

    image = await handle(client.predictions.create("someone/painter", input={}, version="v1"))
    text = await handle(client.predictions.create("someone/writer:v2", input={"prompt": "x"}))

    # Not guessed from the shape: an audio model's URLs are not images.
    assert isinstance(image.result, OutputResult)
    assert [f.url for f in image.result.files] == ["https://x.test/1.webp"]
    assert isinstance(text.result, OutputResult)
    assert text.result.text == "Hello"


async def test_streaming_an_image_prediction_yields_no_urls_as_text(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    mock.get("/api/poll").mock(return_value=answer("succeeded", ["http://x.test/a.png"]))
    p = await handle(client.predictions.create("sdxl", input={"prompt": "a dog"}))

    assert await collect(p.stream()) == []
    assert p.result.url == "http://x.test/a.png"
