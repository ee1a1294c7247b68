"""The emulator checks catalog inputs against the SDK's own schemas, on every create route, and
its outputs follow what the input asks for; its version objects serve those schemas, in Cog's
shape, as Replicate publishes them."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from pydantic import JsonValue

from replicatehome._cog_schema import cog_input_schemas
from replicatehome.catalog import MODELS, ModelSpec
from replicatehome.emulator import EmulatorApp, EmulatorConfig, create_app, emulated_text
from replicatehome.emulator._inputs import SD3_SIZES
from replicatehome.errors import InputValidationError
from replicatehome.inputs import INPUT_MODELS, check_input

from ..helpers import FakeClock
from .helpers import GEMMA, PLAYGROUND, SD3, SDXL, asgi_client

PUBLISHED: dict[str, dict[str, JsonValue]] = json.loads(
    (Path(__file__).parent / "published_schemas.json").read_text()
)
Route = Literal["homepage", "model", "version", "deployment"]
ROUTES: list[Route] = ["homepage", "model", "version", "deployment"]


@pytest.fixture
def app(clock: FakeClock) -> EmulatorApp:
    return create_app(
        EmulatorConfig(starting=0.2, duration=1.0, duration_from_input="seconds"), clock=clock
    )


async def post(
    api: httpx.AsyncClient, route: Route, spec: ModelSpec, inputs: Mapping[str, object]
) -> httpx.Response:
    """Create a prediction of `spec` with `inputs` on one of the four create routes."""
    if route == "homepage":
        body = {"model": spec.name, "version": spec.version, "input": inputs}
        return await api.post("/api/prediction", json=body)
    if route == "version":
        return await api.post("/v1/predictions", json={"version": spec.version, "input": inputs})
    kind = "models" if route == "model" else "deployments"
    return await api.post(f"/v1/{kind}/{spec.name}/predictions", json={"input": inputs})


async def finished(
    api: httpx.AsyncClient, clock: FakeClock, spec: ModelSpec, inputs: Mapping[str, object]
) -> dict[str, JsonValue]:
    """The prediction of `spec` with `inputs`, created on /v1 and polled once it has ended."""
    created = await post(api, "model", spec, inputs)
    assert created.status_code == 201, created.text
    clock.now += 5
    polled = await api.get(f"/v1/predictions/{created.json()['id']}")
    body: dict[str, JsonValue] = polled.json()
    assert body["status"] == "succeeded"
    return body


# --- every field of every catalog model: a valid value passes, an invalid one is refused -------


def values_of(prop: dict[str, Any], enum: list[str] | None) -> tuple[list[object], list[object]]:
    """Values a property takes, and values it refuses, from its published-style schema."""
    optional = "default" not in prop  # seed, image, mask: no default, null allowed
    valid: list[object] = [None] if optional else []
    invalid: list[object] = [] if optional else [None]
    if enum is not None:
        return [*valid, enum[0], enum[-1]], [*invalid, "nope", str(enum[0]).lower() + "x", 1]
    kind = prop["type"]
    low, high = prop.get("minimum"), prop.get("maximum")
    if kind == "string" and prop.get("format") == "uri":
        valid += ["https://example.test/cat.png", "data:image/png;base64,iVBORw0KGgo="]
        invalid += [3, True, {"url": "x"}]
    elif kind == "string":
        valid += ["a fox", ""]
        invalid += [3, True, ["a fox"]]
    elif kind == "boolean":
        valid += [True, False]
        invalid += ["true", 1, 0]
    elif kind == "integer":
        valid += [prop.get("default", 1)]
        invalid += ["1", 1.5, True]
        for edge, whole_step in ((low, -1), (high, 1)):
            if isinstance(edge, int):
                valid.append(edge)
                invalid.append(edge + whole_step)
    else:
        assert kind == "number"
        default = prop["default"]
        assert isinstance(default, int | float)
        valid += [default, math.ceil(default)]  # an integer is a number too
        invalid += ["0.5", True]
        for edge, step in ((low, -0.5), (high, 0.5)):
            if isinstance(edge, int | float):
                valid.append(edge)
                invalid.append(edge + step)
    return valid, invalid


def field_cases(model: str) -> Iterator[tuple[str, object, bool]]:
    """(field, value, valid) for every field of `model`, from its schema."""
    schemas: dict[str, Any] = cog_input_schemas(INPUT_MODELS[model])
    for field, prop in schemas["Input"]["properties"].items():
        enum = schemas[field]["enum"] if "allOf" in prop else None
        valid, invalid = values_of(prop, enum)
        yield from ((field, value, True) for value in valid)
        yield from ((field, value, False) for value in invalid)


def sdk_problems(model: str, inputs: Mapping[str, object]) -> list[str]:
    """The problems the SDK finds, as the emulator's detail lines should name them."""
    try:
        check_input(model, inputs)
    except InputValidationError as error:
        return [f"- input.{p.field}: {p.message}" for p in error.problems]
    return []


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("spec", MODELS, ids=[spec.alias for spec in MODELS])
async def test_every_field_is_checked_as_the_sdk_checks_it(
    api: httpx.AsyncClient, app: EmulatorApp, route: Route, spec: ModelSpec
) -> None:
    cases = list(field_cases(spec.name))
    assert {field for field, _, _ in cases} == set(INPUT_MODELS[spec.name].model_fields)
    created = 0
    for field, value, valid in cases:
        inputs = {"prompt": "a fox", field: value}
        expected = sdk_problems(spec.name, inputs)
        assert not expected if valid else expected, (field, value)  # the cases are right
        response = await post(api, route, spec, inputs)
        if valid:
            assert response.status_code == 201, (field, value, response.text)
            created += 1
            continue
        assert response.status_code == 422, (field, value, response.text)
        detail = response.json()["detail"]
        assert detail.splitlines()[-len(expected) :] == expected, (field, value)
    assert app.stats.predictions == created  # nothing refused was made


async def test_homepage_answers_every_problem_in_its_own_shape(
    api: httpx.AsyncClient, app: EmulatorApp
) -> None:
    inputs = {"prompt": "a fox", "aspect_ratio": "16x9", "steps": 40, "cfg": "high"}
    response = await post(api, "homepage", SD3, inputs)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": "Input validation failed:\n"
        "- input.aspect_ratio: Input should be '1:1', '16:9', '21:9', '3:2', '2:3', '4:5', "
        "'5:4', '9:16' or '9:21'\n"
        "- input.cfg: Input should be a valid number\n"
        "- input.steps: Input should be less than or equal to 28"
    }
    assert app.stats.predictions == 0


@pytest.mark.parametrize("route", ["model", "version", "deployment"])
async def test_v1_answers_every_problem_as_problem_details(
    api: httpx.AsyncClient, route: Route
) -> None:
    inputs = {"prompt": "a fox", "temperature": 0, "top_k": 2.5, "temprature": 0.2}
    response = await post(api, route, GEMMA, inputs)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Input validation failed"
    assert body["status"] == 422
    assert body["instance"] == response.request.url.path
    assert body["detail"] == (
        "- input.temperature: Input should be greater than or equal to 0.01\n"
        "- input.top_k: Input should be a valid integer"
    )
    assert body["invalid_fields"] == [
        {
            "type": "invalid",
            "field": "input.temperature",
            "description": "Input should be greater than or equal to 0.01",
        },
        {
            "type": "invalid",
            "field": "input.top_k",
            "description": "Input should be a valid integer",
        },
    ]


@pytest.mark.parametrize("route", ROUTES)
async def test_unknown_names_are_ignored_and_kept(
    api: httpx.AsyncClient, clock: FakeClock, route: Route
) -> None:
    # The real API ignores names a model does not have: that is how `temprature=` went unseen.
    inputs = {"prompt": "a fox", "temprature": "hot", "num_outputs": 3, "seconds": 0.5}
    response = await post(api, route, SD3, inputs)
    assert response.status_code == 201, response.text
    assert response.json()["input"] == inputs  # echoed as sent
    clock.now += 0.2 + 0.5  # `seconds`, the emulator's own knob, still sets the duration
    polled = await api.get("/api/poll", params={"id": response.json()["id"]})
    assert polled.json()["status"] == "succeeded"
    assert len(polled.json()["output"]) == 1  # SD3 has no num_outputs


async def test_the_test_knob_is_checked_with_the_schema(api: httpx.AsyncClient) -> None:
    response = await post(api, "model", SDXL, {"width": 10, "seconds": "long"})
    assert response.json()["detail"] == (
        "- input.width: Input should be greater than or equal to 256\n"
        "- input.seconds: Input should be a number of seconds from 0 to 86400"
    )


async def test_a_missing_prompt_takes_the_schema_default(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    done = await finished(api, clock, GEMMA, {})
    default = INPUT_MODELS[GEMMA.name].model_fields["prompt"].default
    assert "".join(done["output"]) == emulated_text(GEMMA.name, default)  # type: ignore[arg-type]


async def test_models_outside_the_catalog_still_need_a_prompt(clock: FakeClock) -> None:
    other = ModelSpec("acme/painter", None, "image")
    app = create_app(EmulatorConfig(models=(other,)), clock=clock)
    async with asgi_client(app) as api:
        missing = await post(api, "model", other, {"num_outputs": 11})
        assert missing.json()["detail"] == (
            "- input.prompt: Input should be a string: the prompt is required"
        )
        accepted = await post(api, "model", other, {"prompt": "p", "num_outputs": 10})
        assert accepted.status_code == 201


# --- outputs follow the input -------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def webp_size(data: bytes) -> tuple[int, int]:
    assert data[:4] == b"RIFF"
    assert data[8:16] == b"WEBPVP8L"
    bits = int.from_bytes(data[21:25], "little")
    return (bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1


def jpeg_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\xff\xd8\xff")
    frame = data.index(b"\xff\xc0")
    height, width = struct.unpack(">HH", data[frame + 5 : frame + 9])
    return width, height


SIZE_READERS = {"png": png_size, "webp": webp_size, "jpg": jpeg_size}
CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "jpg": "image/jpeg"}


async def images(api: httpx.AsyncClient, done: Mapping[str, JsonValue]) -> list[httpx.Response]:
    urls = done["output"]
    assert isinstance(urls, list)
    return [await api.get(str(url)) for url in urls]


@pytest.mark.parametrize("image_format", ["webp", "jpg", "png", None])
async def test_sd3_draws_in_the_asked_format_and_aspect_ratio(
    api: httpx.AsyncClient, clock: FakeClock, image_format: str | None
) -> None:
    inputs: dict[str, object] = {"prompt": "a fox", "aspect_ratio": "16:9"}
    if image_format is not None:
        inputs["output_format"] = image_format
    fmt = image_format or "webp"  # the schema's default
    done = await finished(api, clock, SD3, inputs)
    [image] = await images(api, done)
    assert str(done["output"][0]).endswith(f"/out-0.{fmt}")  # type: ignore[index]
    assert image.headers["content-type"] == CONTENT_TYPES[fmt]
    assert SIZE_READERS[fmt](image.content) == SD3_SIZES["16:9"] == (1344, 768)


@pytest.mark.parametrize("spec", [SDXL, PLAYGROUND], ids=["sdxl", "playground"])
async def test_width_height_and_num_outputs(
    api: httpx.AsyncClient, clock: FakeClock, spec: ModelSpec
) -> None:
    inputs = {"prompt": "a fox", "width": 512, "height": 768, "num_outputs": 3}
    done = await finished(api, clock, spec, inputs)
    drawn = await images(api, done)
    assert [png_size(image.content) for image in drawn] == [(512, 768)] * 3
    assert len({image.content for image in drawn}) == 3
    default = await images(api, await finished(api, clock, spec, {"prompt": "a fox"}))
    assert [png_size(image.content) for image in default] == [(1024, 1024)]


async def test_a_seed_makes_images_reproducible(api: httpx.AsyncClient, clock: FakeClock) -> None:
    async def drawn(**inputs: object) -> bytes:
        done = await finished(api, clock, SDXL, {"prompt": "a fox", "width": 256, **inputs})
        return (await images(api, done))[0].content

    seeded = await drawn(seed=42)
    assert await drawn(seed=42) == seeded
    assert await drawn(seed=43) != seeded
    assert await drawn() != seeded
    assert await drawn() == await drawn()  # without a seed, the prompt decides


@pytest.mark.parametrize("tokens", [1, 5, 200])
async def test_max_new_tokens_cuts_the_text(
    api: httpx.AsyncClient, clock: FakeClock, tokens: int
) -> None:
    done = await finished(api, clock, GEMMA, {"prompt": "a fox", "max_new_tokens": tokens})
    output = done["output"]
    assert isinstance(output, list)
    whole = emulated_text(GEMMA.name, "a fox")
    assert len(output) == min(tokens, len(whole.split()))
    assert "".join(map(str, output)) == emulated_text(GEMMA.name, "a fox", max_new_tokens=tokens)
    again = await finished(api, clock, GEMMA, {"prompt": "a fox", "max_new_tokens": tokens})
    assert again["output"] == output  # the same input, the same text


# --- the published schemas ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", MODELS, ids=[spec.alias for spec in MODELS])
async def test_versions_serve_the_published_schemas(
    api: httpx.AsyncClient, spec: ModelSpec
) -> None:
    model = (await api.get(f"/v1/models/{spec.name}")).json()
    version = (await api.get(f"/v1/models/{spec.name}/versions/{spec.version}")).json()
    assert model["latest_version"] == version
    schema = version["openapi_schema"]
    assert schema["openapi"] == "3.0.2"
    assert schema["components"]["schemas"] == PUBLISHED[spec.name]["schemas"]
