"""The catalog models' inputs, checked before any request, through both clients.

Every field of the four schemas: a valid value is sent as given, an invalid one is refused
with `InputValidationError` before anything is sent. Then what the check leaves alone:
``extra_input=``, models outside the catalog, files.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import get_type_hints

import pydantic
import pytest
import respx

from replicatehome import InputValidationError, ReplicateHomeError
from replicatehome.catalog import ImageModelName, TextModelName, resolve
from replicatehome.inputs import (
    INPUT_MODELS,
    CatalogInput,
    FileInput,
    GemmaInput,
    GemmaInputs,
    PlaygroundInput,
    PlaygroundInputs,
    SDXLLightningInput,
    SDXLLightningInputs,
    StableDiffusion3Input,
    StableDiffusion3Inputs,
)

from ..helpers import AnyClient, call, collect, prediction

IMAGE_OUT = ["https://replicate.delivery/out.png"]
URL = "https://example.com/cat.png"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))

ModelName = TextModelName | ImageModelName

# (model, field, a valid value, an invalid value): every field of every schema.
FIELDS: list[tuple[ModelName, str, object, object]] = [
    ("gemma-2b", "prompt", "Write a poem", 5),
    ("gemma-2b", "max_new_tokens", 1, 0),
    ("gemma-2b", "min_new_tokens", -1, -2),
    ("gemma-2b", "temperature", 5, 0.0),
    ("gemma-2b", "top_p", 0.5, 1.5),
    ("gemma-2b", "top_k", 40, "40"),
    ("gemma-2b", "repetition_penalty", 0, -0.1),
    ("sd-3", "prompt", "A fox", None),
    ("sd-3", "aspect_ratio", "16:9", "16x9"),
    ("sd-3", "cfg", 20, 20.5),
    ("sd-3", "image", URL, 5),
    ("sd-3", "prompt_strength", 0.0, 1.1),
    ("sd-3", "steps", 28, 29),
    ("sd-3", "output_format", "png", "gif"),
    ("sd-3", "output_quality", 100, 101),
    ("sd-3", "seed", 42, "42"),
    ("sd-3", "negative_prompt", "blurry", ["blurry"]),
    ("sdxl", "prompt", "A fox", b"A fox"),
    ("sdxl", "negative_prompt", "", None),
    ("sdxl", "width", 1280, 1281),
    ("sdxl", "height", 256, 255),
    ("sdxl", "num_outputs", 4, 5),
    ("sdxl", "scheduler", "DPM++2MSDE", "DPMSolver++"),
    ("sdxl", "num_inference_steps", 10, 0),
    ("sdxl", "guidance_scale", 50, 51),
    ("sdxl", "seed", None, 1.5),
    ("sdxl", "disable_safety_checker", True, "yes"),
    ("playground-v2.5", "prompt", "A fox", 1),
    ("playground-v2.5", "negative_prompt", "ugly", 0),
    ("playground-v2.5", "image", URL, 3.0),
    ("playground-v2.5", "mask", None, {"url": URL}),
    ("playground-v2.5", "width", 1536, 1537),
    ("playground-v2.5", "height", 256, 128),
    ("playground-v2.5", "num_outputs", 1, 0),
    ("playground-v2.5", "scheduler", "DPM++2MKarras", "KarrasDPM"),
    ("playground-v2.5", "num_inference_steps", 60, 61),
    ("playground-v2.5", "guidance_scale", 0.1, 0.05),
    ("playground-v2.5", "prompt_strength", 1, -0.1),
    ("playground-v2.5", "seed", 0, True),
    ("playground-v2.5", "apply_watermark", False, 0),
    ("playground-v2.5", "disable_safety_checker", False, "false"),
]


def test_the_cases_cover_every_field_of_every_schema() -> None:
    covered = {(resolve(alias).name, field) for alias, field, _, _ in FIELDS}
    fields = {(name, field) for name, model in INPUT_MODELS.items() for field in model.model_fields}
    assert covered == fields


def sent(route: respx.Route) -> dict[str, object]:
    """The `input` of the last create request `route` received."""
    value = json.loads(route.calls.last.request.content)["input"]
    assert isinstance(value, dict)
    return value


def created(mock: respx.MockRouter, output: object = IMAGE_OUT) -> respx.Route:
    return mock.post("/api/prediction").respond(201, json=prediction("succeeded", output))


async def generate(client: AnyClient, alias: ModelName, given: dict[str, object]) -> None:
    """Run `alias` with `given` as its input mapping, through the method of its kind."""
    if alias == "gemma-2b":
        await call(client.generate_text("A poem", input=given))
    else:
        await call(client.generate_image("A fox", model=alias, input=given))


@pytest.mark.parametrize(("alias", "field", "valid", "invalid"), FIELDS)
async def test_a_valid_value_is_sent_as_given(
    client: AnyClient,
    mock: respx.MockRouter,
    alias: ModelName,
    field: str,
    valid: object,
    invalid: object,
) -> None:
    route = created(mock, ["ok"] if alias == "gemma-2b" else IMAGE_OUT)

    await generate(client, alias, {field: valid})

    assert sent(route)[field] == valid


@pytest.mark.parametrize(("alias", "field", "valid", "invalid"), FIELDS)
async def test_an_invalid_value_is_refused_before_any_request(
    client: AnyClient,
    mock: respx.MockRouter,
    alias: ModelName,
    field: str,
    valid: object,
    invalid: object,
) -> None:
    with pytest.raises(InputValidationError) as caught:
        await generate(client, alias, {field: invalid})

    error = caught.value
    assert isinstance(error, ReplicateHomeError)
    assert isinstance(error, ValueError)
    assert not isinstance(error, pydantic.ValidationError)
    assert error.__cause__ is None
    assert error.__suppress_context__  # pydantic's error is not shown as "during handling"
    assert error.model == resolve(alias).name
    [problem] = error.problems
    assert (problem.field, problem.given) == (field, invalid)
    assert problem.allowed
    assert f"{field}=" in str(error)
    assert mock.calls.call_count == 0


async def test_keyword_inputs_are_checked_too(client: AnyClient, mock: respx.MockRouter) -> None:
    route = created(mock)

    await call(client.generate_image("A fox", aspect_ratio="16:9", steps=10))

    assert sent(route) == {"prompt": "A fox", "aspect_ratio": "16:9", "steps": 10}
    with pytest.raises(InputValidationError, match=r"aspect_ratio='16x9': Input should be '1:1'"):
        await call(client.generate_image("A fox", aspect_ratio="16x9"))  # type: ignore[call-overload]
    assert mock.calls.call_count == 1


async def test_an_unknown_name_gets_a_did_you_mean(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    with pytest.raises(InputValidationError) as caught:
        await call(client.generate_text("hi", temprature=0.2))  # type: ignore[call-overload]

    [problem] = caught.value.problems
    assert problem.field == "temprature"
    assert problem.message == "not an input of this model; did you mean 'temperature'?"
    assert "max_new_tokens" in problem.allowed
    assert mock.calls.call_count == 0


async def test_every_problem_is_listed_at_once(client: AnyClient, mock: respx.MockRouter) -> None:
    with pytest.raises(InputValidationError) as caught:
        await call(
            client.generate_image(
                "A fox", model="sdxl", input={"width": 4096, "scheduler": "fast", "aspect_ratio": 1}
            )
        )

    error = caught.value
    assert {problem.field for problem in error.problems} == {"width", "scheduler", "aspect_ratio"}
    lines = str(error).splitlines()
    assert lines[0] == "Invalid input for bytedance/sdxl-lightning-4step:"
    assert len(lines) == 4
    assert mock.calls.call_count == 0


async def test_stream_text_is_checked_when_called(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    with pytest.raises(InputValidationError, match="max_new_tokens"):
        client.stream_text("hi", max_new_tokens=0)  # not iterated

    assert mock.calls.call_count == 0


async def test_the_prompt_built_from_messages_is_checked_with_the_rest(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    route = created(mock, ["ok"])

    chunks = await collect(
        client.stream_text(messages=[{"role": "user", "content": "hi"}], top_k=3)
    )

    assert chunks == ["ok"]
    assert sent(route) == {"prompt": "hi", "top_k": 3}


async def test_a_catalog_model_at_another_version_is_checked_by_its_name(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    with pytest.raises(InputValidationError, match="google-deepmind/gemma-2b-it"):
        await call(client.generate_text("hi", version="0" * 64, input={"top_k": 1.5}))
    assert mock.calls.call_count == 0


# --- extra_input: sent as it is -------------------------------------------------------------


async def test_extra_input_is_sent_unchecked(client: AnyClient, mock: respx.MockRouter) -> None:
    route = created(mock, ["ok"])

    await call(
        client.generate_text(
            "hi", max_new_tokens=8, extra_input={"seconds": 0.5, "temperature_schedule": [1, 2]}
        )
    )

    assert sent(route) == {
        "prompt": "hi",
        "max_new_tokens": 8,
        "seconds": 0.5,
        "temperature_schedule": [1, 2],
    }


@pytest.mark.parametrize(
    ("given", "extra", "twice"),
    [
        ({"temperature": 0.2}, {"temperature": 0.5}, "temperature"),
        ({}, {"prompt": "other"}, "prompt"),
    ],
)
async def test_a_name_both_checked_and_extra_is_refused(
    client: AnyClient,
    mock: respx.MockRouter,
    given: dict[str, object],
    extra: dict[str, object],
    twice: str,
) -> None:
    with pytest.raises(TypeError, match=f"got {twice} both in extra_input= and as a checked input"):
        await call(client.generate_text("hi", input=given, extra_input=extra))
    with pytest.raises(TypeError, match="got top_k both in extra_input="):
        await call(client.generate_text("hi", top_k=1, extra_input={"top_k": 2}))
    assert mock.calls.call_count == 0


# --- models outside the catalog: never checked ----------------------------------------------


async def test_a_model_outside_the_catalog_takes_any_input(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    route = created(mock)

    await call(
        client.generate_image(
            "A fox", model="acme/painter:v1", input={"aspect_ratio": 3}, extra_input={"x": 1}
        )
    )

    assert sent(route) == {"prompt": "A fox", "aspect_ratio": 3, "x": 1}


async def test_keywords_still_reach_a_model_outside_the_catalog_at_run_time(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    # Static type checkers see no keyword inputs for a model named by a plain str (use input=);
    # code that is not type-checked keeps working as before.
    route = created(mock, ["ok"])

    await call(client.generate_text("hi", model="acme/llm:v1", temprature=9))  # type: ignore[call-overload]

    assert sent(route) == {"prompt": "hi", "temprature": 9}


# --- files in the schemas' file fields ------------------------------------------------------


def data_uri_bytes(value: object) -> bytes:
    assert isinstance(value, str)
    head, _, payload = value.partition(",")
    assert head.startswith("data:")
    return base64.b64decode(payload)


def as_path(tmp_path: Path) -> object:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    return path


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(as_path, id="path"),
        pytest.param(lambda _: PNG, id="bytes"),
        pytest.param(lambda _: bytearray(PNG), id="bytearray"),
        pytest.param(lambda _: memoryview(PNG), id="memoryview"),
        pytest.param(lambda _: io.BytesIO(PNG), id="file"),
    ],
)
@pytest.mark.parametrize(
    ("alias", "field"),
    [("sd-3", "image"), ("playground-v2.5", "image"), ("playground-v2.5", "mask")],
)
async def test_file_fields_take_files(
    client: AnyClient,
    mock: respx.MockRouter,
    tmp_path: Path,
    make: object,
    alias: ModelName,
    field: str,
) -> None:
    assert callable(make)
    route = created(mock)

    await generate(client, alias, {field: make(tmp_path)})

    assert data_uri_bytes(sent(route)[field]) == PNG


class CountingReader(io.BytesIO):
    """A BytesIO that counts the calls to its read()."""

    reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.reads += 1
        return super().read(size)


async def test_no_file_is_read_or_uploaded_for_an_invalid_input(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    photo = CountingReader(PNG)

    with pytest.raises(InputValidationError, match="prompt_strength"):
        await call(
            live.generate_image(
                "A fox", model="playground-v2.5", image=photo, mask=PNG, prompt_strength=2
            )
        )

    assert photo.reads == 0
    assert mock.calls.call_count == 0  # no upload, no create


async def test_the_official_api_gets_the_checked_input_with_its_files_uploaded(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    url = "https://api.replicate.com/v1/files/f1"
    mock.post("/v1/files").respond(201, json={"id": "f1", "urls": {"get": url}})
    route = mock.post("/v1/predictions").respond(
        201, json=prediction("succeeded", IMAGE_OUT, urls={})
    )

    await call(live.generate_image("A fox", image=io.BytesIO(PNG), cfg=7.5, output_format="png"))

    assert sent(route) == {"prompt": "A fox", "image": url, "cfg": 7.5, "output_format": "png"}


# --- the TypedDicts that type the keywords, in step with the models -------------------------


@pytest.mark.parametrize(
    ("model", "typed"),
    [
        (GemmaInput, GemmaInputs),
        (StableDiffusion3Input, StableDiffusion3Inputs),
        (SDXLLightningInput, SDXLLightningInputs),
        (PlaygroundInput, PlaygroundInputs),
    ],
)
def test_each_typeddict_has_its_models_fields_but_the_prompt(
    model: type[CatalogInput], typed: type
) -> None:
    hints = get_type_hints(typed)
    assert list(hints) == [name for name in model.model_fields if name != "prompt"]
    for name, hint in hints.items():
        annotation = model.model_fields[name].annotation
        if "_file" in repr(annotation):  # a file field, validated by kind, not by type
            assert hint == FileInput | None
        else:
            assert hint == annotation, name
