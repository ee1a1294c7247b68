"""Static types users rely on: checked by mypy --strict (`assert_type`), run as plain tests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import assert_type

import mypy.api
import pytest
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


# --- keyword inputs, typed per model ----------------------------------------------------------


def test_sync_keyword_inputs_are_typed_per_model(mock: respx.MockRouter, any_model: str) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["http://x/y"]))
    with Client(base_url=BASE_URL) as client:
        assert_type(client.generate_text("hi", temperature=0.2, max_new_tokens=8), TextResult)
        assert_type(client.generate_text("hi", model="google-deepmind/gemma-2b-it"), TextResult)
        assert_type(client.stream_text("hi", model="gemma-2b", top_k=5), Iterator[str])
        assert_type(client.generate_image("hi", aspect_ratio="16:9", image=b"\x89PNG"), ImageResult)
        assert_type(client.generate_image("hi", model="sdxl", num_outputs=2), ImageResult)
        assert_type(
            client.generate_image("hi", model="playground-v2.5", mask=b"", scheduler="DDIM"),
            ImageResult,
        )
        assert_type(
            client.generate_image("hi", model=any_model, input={"x": 1}, extra_input={}),
            ImageResult,
        )


async def test_async_keyword_inputs_are_typed_per_model(
    mock: respx.MockRouter, any_model: str
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["http://x/y"]))
    async with AsyncClient(base_url=BASE_URL) as client:
        assert_type(await client.generate_text("hi", top_p=0.9), TextResult)
        assert_type(client.stream_text("hi", repetition_penalty=1.0), AsyncIterator[str])
        assert_type(await client.generate_image("hi", model="sd-3", seed=None), ImageResult)
        assert_type(
            await client.generate_image(
                "hi", model="bytedance/sdxl-lightning-4step", scheduler="K_EULER"
            ),
            ImageResult,
        )
        assert_type(
            await client.generate_image("hi", model="playground-v2.5", apply_watermark=False),
            ImageResult,
        )
        assert_type(await client.generate_text("hi", model=any_model, input={}), TextResult)


@pytest.fixture
def any_model() -> str:
    """A model outside the catalog, typed as a plain str as code that computes it would be."""
    return "acme/any:v1"


# What mypy must refuse in users' code, line by line: `# error: CODE` marks each line that must
# have that error and no other; every other line must have none.
MISTAKES = """\
from replicatehome import AsyncClient, Client


def sync(client: Client, model: str) -> None:
    client.generate_text("hi", temprature=0.2)  # error: call-overload
    client.generate_text("hi", temperature="0.2")  # error: call-overload
    client.stream_text("hi", model="gemma-2b", aspect_ratio="1:1")  # error: call-overload
    client.generate_image("hi", aspect_ratio=3)  # error: call-overload
    client.generate_image("hi", aspect_ratio="16x9")  # error: call-overload
    client.generate_image("hi", model="sdxl", aspect_ratio="16:9")  # error: call-overload
    client.generate_image("hi", model="playground-v2.5", mask=1)  # error: call-overload
    client.generate_image("hi", model=model, aspect_ratio="16:9")  # error: call-overload
    client.generate_image("hi", model=model, input={"aspect_ratio": 3})
    client.generate_image("hi", model="sd-3", extra_input={"new_input": 1}, cfg=2.5)
    client.generate_text("hi", model=model, extra_input={"temprature": 0.2})


async def asynchronous(client: AsyncClient) -> None:
    await client.generate_text("hi", temprature=0.2)  # error: call-overload
    await client.generate_image("hi", aspect_ratio=3)  # error: call-overload
    await client.generate_image("hi", model="sdxl", width=1024, num_outputs=2)
    client.stream_text("hi", max_new_tokens="many")  # error: call-overload
"""


def test_mypy_refuses_misspelled_and_mistyped_inputs(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    # In pytest's cache, when there is one, with mypy's own cache beside it: the first run
    # checks the package and its dependencies (about ten seconds), later runs only the snippet.
    # The snippet keeps its path, as mypy's cache tells files apart by their module name.
    store = getattr(pytestconfig, "cache", None)
    folder = store.mkdir("mypy-typing") if store is not None else tmp_path
    snippet = folder / "users_code.py"
    snippet.write_text(MISTAKES)
    cache = folder / "cache"
    root = pytestconfig.rootpath
    out, err, _ = mypy.api.run(
        [
            "--config-file",
            str(root / "pyproject.toml"),
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            "--hide-error-context",
            "--show-error-codes",
            str(snippet),
        ]
    )
    assert not err
    found: dict[int, set[str]] = {}
    for line in out.splitlines():
        # mypy names the file relative to the working directory when it is below it.
        match = re.match(r"(?:.*/)?users_code\.py:(\d+): error: .*\[([a-z-]+)\]$", line)
        if match:
            found.setdefault(int(match[1]), set()).add(match[2])
    expected = {
        number: {code.split("error: ")[1]}
        for number, code in enumerate(MISTAKES.splitlines(), start=1)
        if "# error: " in code
    }
    assert found == expected, out
