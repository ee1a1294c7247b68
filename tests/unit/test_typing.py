"""Static types users rely on: checked by mypy --strict (`assert_type`), run as plain tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import assert_type

import respx

from replicatehome import (
    AsyncClient,
    AsyncPrediction,
    Client,
    ImageResult,
    Prediction,
    PredictionResult,
    PredictionStatus,
    TextResult,
)

from ..helpers import BASE_URL, prediction


def test_sync_types(mock: respx.MockRouter) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["x"]))
    with Client(base_url=BASE_URL) as client:
        assert_type(client.generate_text("hi"), TextResult)
        assert_type(client.stream_text("hi"), Iterator[str])
        text = client.predictions.create("gemma-2b", input={"prompt": "hi"})
        assert_type(text, Prediction[TextResult])
        assert_type(text.wait(), TextResult)
        assert_type(text.result, TextResult)
        assert_type(text.status, PredictionStatus)
        other = client.predictions.create("someone/model:v1", input={})
        assert_type(other, Prediction[PredictionResult])
        mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["http://x/y"]))
        image = client.predictions.create("sdxl", input={"prompt": "hi"})
        assert_type(image, Prediction[ImageResult])
        assert_type(image.result, ImageResult)
        assert_type(client.generate_image("hi"), ImageResult)


async def test_async_types(mock: respx.MockRouter) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["x"]))
    async with AsyncClient(base_url=BASE_URL) as client:
        assert_type(await client.generate_text("hi"), TextResult)
        assert_type(client.stream_text("hi"), AsyncIterator[str])
        text = await client.predictions.create("gemma-2b", input={"prompt": "hi"})
        assert_type(text, AsyncPrediction[TextResult])
        assert_type(await text.wait(), TextResult)
        assert_type(text.stream(), AsyncIterator[str])
        mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["http://x/y"]))
        image = await client.predictions.create("sd-3", input={"prompt": "hi"})
        assert_type(image, AsyncPrediction[ImageResult])
        assert_type(await client.generate_image("hi"), ImageResult)
