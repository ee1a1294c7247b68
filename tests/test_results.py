"""Typed results built from finished predictions, without any I/O."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from replicatehome import ImageResult, PredictionSnapshot, ResponseValidationError, TextResult
from replicatehome.results import build_result, kind_of, text_of


def snapshot(output: object, model: str | None = None) -> PredictionSnapshot:
    return PredictionSnapshot.model_validate(
        {"id": "p1", "status": "succeeded", "output": output, "model": model}
    )


@pytest.mark.parametrize(
    ("output", "text"),
    [
        (None, ""),
        ("whole", "whole"),
        (["a", "b"], "ab"),
        (["n=", 1, ", ok=", True], "n=1, ok=True"),
    ],
)
def test_text_of_every_output_shape(output: object, text: str) -> None:
    assert text_of(snapshot(output)) == text


def test_text_of_an_object_is_a_validation_error() -> None:
    with pytest.raises(ResponseValidationError, match="not text") as caught:
        text_of(snapshot({"a": 1}))
    assert caught.value.response is None
    assert caught.value.body == {"a": 1}


@pytest.mark.parametrize(
    ("output", "model", "kind"),
    [
        (["https://x/1.png", "https://x/2.png"], "someone/new-model", "image"),
        ("data:image/png;base64,AAAA", None, "image"),
        (["Hello", " world"], "someone/new-model", "text"),
        ([], None, "text"),
        ("plain text", None, "text"),
        # The catalog knows gemma is a text model, whatever its output looks like.
        (["https://x/1.png"], "google-deepmind/gemma-2b-it", "text"),
    ],
)
def test_kind_of_models_outside_the_catalog_follows_the_output(
    output: object, model: str | None, kind: str
) -> None:
    assert kind_of(snapshot(output, model)) == kind


def test_build_result_gives_the_right_type() -> None:
    image = build_result(None, snapshot(["https://x/1.png"], "a/b"))
    text = build_result(None, snapshot(["hi"], "a/b"))
    assert isinstance(image, ImageResult)
    assert str(image) == "https://x/1.png"
    assert repr(image) == "ImageResult(urls=('https://x/1.png',), prediction_id='p1')"
    assert isinstance(text, TextResult)
    assert str(text) == "hi"


def test_a_save_that_fails_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = ImageResult(
        ("https://x/1.png",), snapshot(["https://x/1.png"]), fetch=lambda url, timeout: iter([b"x"])
    )

    def refuse(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        image.save(tmp_path / "a.png")
    assert list(tmp_path.iterdir()) == []
