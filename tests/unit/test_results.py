"""Typed results built from finished predictions, without any I/O."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import JsonValue

from replicatehome import (
    ImageResult,
    OutputResult,
    PredictionSnapshot,
    ResponseValidationError,
    TextResult,
)
from replicatehome.results import build_result, text_of


def snapshot(output: object, model: str | None = None) -> PredictionSnapshot:
    return PredictionSnapshot.model_validate(
        {"id": "p1", "status": "succeeded", "output": output, "model": model}
    )


@pytest.mark.parametrize(
    ("output", "text"),
    [(None, ""), ("whole", "whole"), (["a", "b"], "ab"), ([], "")],
)
def test_text_of_every_output_shape(output: object, text: str) -> None:
    assert text_of(snapshot(output)) == text


@pytest.mark.parametrize("output", [{"a": 1}, [0.1, 0.2, 0.3], ["n=", 1], 3])
def test_text_of_what_is_not_text_is_a_validation_error(output: object) -> None:
    # Not "0.10.20.3": numbers joined as text would be wrong text, silently.
    with pytest.raises(ResponseValidationError, match="not text") as caught:
        text_of(snapshot(output))
    assert caught.value.response is None
    assert caught.value.body == output


def test_catalog_models_give_their_kind_of_result_whatever_the_output_looks_like() -> None:
    image = build_result(None, snapshot(["https://x/1.png"], "stability-ai/stable-diffusion-3"))
    text = build_result(None, snapshot(["https://x/1.png"], "google-deepmind/gemma-2b-it"))
    assert isinstance(image, ImageResult)
    assert str(image) == "https://x/1.png"
    assert repr(image) == "ImageResult(urls=('https://x/1.png',), prediction_id='p1')"
    assert isinstance(text, TextResult)
    assert str(text) == "https://x/1.png"


@pytest.mark.parametrize(
    "output",
    [
        {"score": 0.9, "labels": ["a", "b"]},
        3.5,
        [0.1, 0.2, 0.3],
        True,
        None,
        "https://x/a.wav",
        ["Hello", " world"],
        [[1, 2], {"deep": [{"deeper": None}]}],
    ],
)
def test_any_other_model_gives_its_output_as_sent(output: JsonValue) -> None:
    result = build_result(None, snapshot(output, "someone/new-model"))
    assert isinstance(result, OutputResult)
    assert result.output == output
    assert result.prediction.id == "p1"


def test_output_files_are_every_url_depth_first_in_order() -> None:
    output: JsonValue = {
        "audio": "https://x/a.wav",
        "frames": ["https://x/1.png", {"mask": "data:image/png;base64,AAAA"}, "not a url"],
        "meta": {"source": "http://x/src", "count": 2, "path": "/relative"},
    }
    result = build_result(None, snapshot(output, "someone/new-model"))
    assert isinstance(result, OutputResult)
    assert [f.url for f in result.files] == [
        "https://x/a.wav",
        "https://x/1.png",
        "data:image/png;base64,AAAA",
        "http://x/src",
    ]
    assert all(f.content_type is None for f in result.files)  # not fetched yet


def test_output_files_of_a_deeply_nested_output_need_no_recursion() -> None:
    output: JsonValue = "https://x/deep"
    for _ in range(200):  # about as deep as pydantic decodes
        output = [output]
    result = build_result(None, snapshot(output, "someone/new-model"))
    assert isinstance(result, OutputResult)
    assert [f.url for f in result.files] == ["https://x/deep"]


@pytest.mark.parametrize(
    ("output", "text"),
    [("whole", "whole"), (["a", "b"], "ab"), ([0.1, 0.2], None), ({"a": "b"}, None)],
)
def test_output_text_is_there_only_for_text(output: JsonValue, text: str | None) -> None:
    result = OutputResult(snapshot(output, "someone/new-model"))
    assert result.text == text
    assert str(result) == (text if text is not None else json.dumps(output))


def test_a_save_that_fails_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fetch(
        url: str,
        timeout: float | None,
        *,
        image: bool = False,
        on_type: Callable[[str | None], None] | None = None,
    ) -> Iterator[bytes]:
        return iter([b"x"])

    image = ImageResult(("https://x/1.png",), snapshot(["https://x/1.png"]), fetch=fetch)

    def refuse(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        image.save(tmp_path / "a.png")
    assert list(tmp_path.iterdir()) == []
