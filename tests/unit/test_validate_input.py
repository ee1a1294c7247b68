"""``predictions.create(..., validate_input=)`` through both clients, with respx.

``None`` checks catalog models against the SDK's schemas; ``True`` also checks other models
against the schema they publish, read once per client; ``False`` checks nothing. An input that
does not fit sends no create, and no upload.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import respx

from replicatehome import InputValidationError, UnsupportedFeatureError

from ..helpers import SD3_VERSION, AnyClient, call, handle
from .test_input_schema import INVALID, VALID, cog_schema
from .test_models import model_body

MODEL = "someone/painter"
VERSION = "c" * 64
MODEL_URL = f"/v1/models/{MODEL}"


def created(**fields: object) -> dict[str, object]:
    return {"id": "p1", "status": "starting", "output": None, **fields}


@pytest.fixture
def routes(mock: respx.MockRouter) -> dict[str, respx.Route]:
    """The official API's create routes and the model's, answered; none of them called yet."""
    return {
        "model": mock.get(MODEL_URL).respond(200, json=model_body()),
        "version": mock.get(f"{MODEL_URL}/versions/{VERSION}").respond(
            200, json={"id": VERSION, "openapi_schema": cog_schema()}
        ),
        "create": mock.post("/v1/predictions").respond(201, json=created()),
        "create-latest": mock.post(f"{MODEL_URL}/predictions").respond(201, json=created()),
        "upload": mock.post("/v1/files").respond(
            201, json={"urls": {"get": "https://api.replicate.com/v1/files/f1"}}
        ),
    }


def calls(routes: dict[str, respx.Route]) -> dict[str, int]:
    return {name: route.call_count for name, route in routes.items() if route.called}


# --- catalog models: checked by default, against the SDK's own schemas -------------------------


@pytest.mark.parametrize("validate_input", [None, True])
async def test_a_catalog_input_that_does_not_fit_sends_nothing(
    live: AnyClient, routes: dict[str, respx.Route], validate_input: bool | None
) -> None:
    with pytest.raises(InputValidationError) as caught:
        await handle(
            live.predictions.create(
                "sd-3", input={"aspect_ratio": "16x9"}, validate_input=validate_input
            )
        )

    assert caught.value.model == "stability-ai/stable-diffusion-3"
    assert caught.value.problems[0].field == "aspect_ratio"
    assert "'16:9'" in caught.value.problems[0].allowed
    assert calls(routes) == {}  # the SDK has the schema: no request at all


async def test_the_homepage_checks_catalog_inputs_too(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    anything = mock.route()

    with pytest.raises(InputValidationError, match="did you mean 'temperature'"):
        await handle(client.predictions.create("gemma-2b", input={"temprature": 0.2}))

    assert not anything.called


async def test_validate_input_false_sends_a_catalog_input_as_given(
    live: AnyClient, routes: dict[str, respx.Route]
) -> None:
    await handle(
        live.predictions.create("sd-3", input={"aspect_ratio": "16x9"}, validate_input=False)
    )

    body = json.loads(routes["create"].calls[0].request.content)
    assert body == {"version": SD3_VERSION, "input": {"aspect_ratio": "16x9"}}


async def test_a_catalog_input_that_fits_is_sent_as_given(
    live: AnyClient, routes: dict[str, respx.Route], tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n")

    await handle(
        live.predictions.create("sd-3", input={"prompt": "a fox", "image": photo, "steps": 4})
    )

    body = json.loads(routes["create"].calls[0].request.content)
    assert body["input"] == {
        "prompt": "a fox",
        "image": "https://api.replicate.com/v1/files/f1",
        "steps": 4,
    }
    assert calls(routes) == {"upload": 1, "create": 1}


# --- other models: unchecked by default, against their published schema with True ------------


@pytest.mark.parametrize("validate_input", [None, False])
async def test_other_models_are_not_checked_unless_asked(
    live: AnyClient, routes: dict[str, respx.Route], validate_input: bool | None
) -> None:
    await handle(
        live.predictions.create(MODEL, input={"stesp": "many"}, validate_input=validate_input)
    )

    assert calls(routes) == {"create-latest": 1}


@pytest.mark.parametrize(("given", "field", "message"), INVALID)
async def test_validate_input_true_checks_the_published_schema(
    live: AnyClient,
    routes: dict[str, respx.Route],
    given: dict[str, object],
    field: str,
    message: str,
) -> None:
    with pytest.raises(InputValidationError) as caught:
        await handle(live.predictions.create(MODEL, input=given, validate_input=True))

    assert caught.value.model == MODEL
    assert [(p.field, message in p.message) for p in caught.value.problems] == [(field, True)]
    assert calls(routes) == {"model": 1}  # the schema, and no create nor upload


@pytest.mark.parametrize("given", VALID[:6])
async def test_an_input_that_fits_the_published_schema_is_created(
    live: AnyClient, routes: dict[str, respx.Route], given: dict[str, object]
) -> None:
    await handle(live.predictions.create(MODEL, input=given, validate_input=True))

    assert calls(routes) == {"model": 1, "create-latest": 1}


async def test_the_schema_is_read_once_for_many_creates(
    live: AnyClient, routes: dict[str, respx.Route]
) -> None:
    for prompt in ("one", "two", "three"):
        await handle(live.predictions.create(MODEL, input={"prompt": prompt}, validate_input=True))
    with pytest.raises(InputValidationError):
        await handle(live.predictions.create(MODEL, input={"promt": "x"}, validate_input=True))

    assert calls(routes) == {"model": 1, "create-latest": 3}


async def test_models_get_fills_the_cache_and_with_options_shares_it(
    live: AnyClient, routes: dict[str, respx.Route]
) -> None:
    await call(live.models.get(MODEL))
    quick = live.with_options(max_retries=0)

    await handle(quick.predictions.create(MODEL, input={"prompt": "x"}, validate_input=True))

    assert calls(routes) == {"model": 1, "create-latest": 1}


async def test_a_pinned_version_is_checked_against_its_own_schema(
    live: AnyClient, routes: dict[str, respx.Route]
) -> None:
    pinned = f"{MODEL}:{VERSION}"
    await handle(live.predictions.create(pinned, input={"prompt": "x"}, validate_input=True))
    with pytest.raises(InputValidationError, match="steps"):
        await handle(live.predictions.create(pinned, input={"steps": 0}, validate_input=True))

    assert calls(routes) == {"version": 1, "create": 1}
    assert routes["version"].calls[0].request.url.path.endswith(f"/versions/{VERSION}")


@pytest.mark.parametrize("version", ["../../predictions", "v?x=1", "v#f", "v%2f", ".."])
async def test_a_version_that_cannot_be_in_a_path_fails_before_any_request(
    live: AnyClient, routes: dict[str, respx.Route], version: str
) -> None:
    with pytest.raises(ValueError, match="not a version id"):
        await handle(live.predictions.create(MODEL, input={}, version=version, validate_input=True))

    assert calls(routes) == {}


async def test_a_model_without_a_schema_passes_anything(
    live: AnyClient, mock: respx.MockRouter, routes: dict[str, respx.Route]
) -> None:
    routes["model"] = mock.get(MODEL_URL).respond(200, json=model_body(latest_version=None))

    for _ in range(2):
        await handle(live.predictions.create(MODEL, input={"odd": 1}, validate_input=True))

    assert calls(routes) == {"model": 1, "create-latest": 2}


async def test_a_schema_that_cannot_be_read_stops_the_create_and_is_not_kept(
    live: AnyClient, mock: respx.MockRouter, routes: dict[str, respx.Route]
) -> None:
    routes["model"] = mock.get(MODEL_URL).respond(404, json={"detail": "Not found."})

    for _ in range(2):
        with pytest.raises(Exception, match="Not found"):
            await handle(live.predictions.create(MODEL, input={}, validate_input=True))

    assert calls(routes) == {"model": 2}


async def test_the_homepage_cannot_check_other_models(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    anything = mock.route()
    other = f"{MODEL}:{VERSION}"

    with pytest.raises(UnsupportedFeatureError, match="validate_input=True"):
        await handle(client.predictions.create(other, input={}, validate_input=True))

    assert not anything.called


# --- deployments: their model is unknown ------------------------------------------------------


async def test_a_deployment_cannot_be_checked(
    live: AnyClient, mock: respx.MockRouter, routes: dict[str, respx.Route]
) -> None:
    deploy = mock.post("/v1/deployments/acme/d/predictions").respond(201, json=created())

    with pytest.raises(TypeError, match="validate_input=True needs a model"):
        await handle(live.predictions.create(deployment="acme/d", input={}, validate_input=True))
    await handle(live.predictions.create(deployment="acme/d", input={"promt": 1}))

    assert deploy.call_count == 1
    assert calls(routes) == {}
