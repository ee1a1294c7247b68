"""``client.models.get`` through both clients, with respx: decoding, names, hostile answers."""

from __future__ import annotations

import json
from typing import assert_type

import pydantic
import pytest
import respx

from replicatehome import (
    AsyncClient,
    Client,
    Model,
    ModelVersion,
    NotFoundError,
    ResponseTooLargeError,
    ResponseValidationError,
    UnsupportedFeatureError,
)

from ..helpers import BASE_URL, TOKEN, AnyClient, Mode, call, close, make_client
from .test_input_schema import INPUT, cog_schema

MODEL_URL = "/v1/models/someone/painter"


def model_body(**fields: object) -> dict[str, object]:
    """A model object as the API reference shows it, with the given fields changed."""
    body: dict[str, object] = {
        "url": "https://replicate.com/someone/painter",
        "owner": "someone",
        "name": "painter",
        "description": "Paints",
        "visibility": "public",
        "github_url": None,
        "run_count": 12,
        "cover_image_url": None,
        "default_example": {"id": "p1"},
        "is_official": False,
        "latest_version": {
            "id": "v" * 64,
            "created_at": "2024-07-16T15:57:20.180462Z",
            "cog_version": "0.9.7",
            "openapi_schema": cog_schema(),
        },
    }
    return body | fields


async def test_get_reads_the_model_and_its_latest_version(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    route = mock.get(MODEL_URL).respond(200, json=model_body())

    model = await call(live.models.get("someone/painter"))

    assert route.call_count == 1
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert isinstance(model, Model)
    assert (model.owner, model.name, model.description) == ("someone", "painter", "Paints")
    assert (model.visibility, model.run_count) == ("public", 12)
    assert model.url == "https://replicate.com/someone/painter"
    assert isinstance(model.latest_version, ModelVersion)
    assert model.latest_version.id == "v" * 64
    assert model.latest_version.cog_version == "0.9.7"
    assert model.latest_version.created_at is not None
    assert model.input_schema == INPUT
    # Fields the SDK does not name are kept; the schema stays out of the repr.
    assert model.model_extra == {
        "github_url": None,
        "cover_image_url": None,
        "default_example": {"id": "p1"},
        "is_official": False,
    }
    assert "openapi_schema" not in repr(model)
    with pytest.raises(pydantic.ValidationError):
        model.name = "other"  # type: ignore[misc]


async def test_a_catalog_alias_reads_its_full_name(live: AnyClient, mock: respx.MockRouter) -> None:
    body = model_body(owner="stability-ai", name="stable-diffusion-3")
    route = mock.get("/v1/models/stability-ai/stable-diffusion-3").respond(200, json=body)

    model = await call(live.models.get("sd-3"))

    assert route.call_count == 1
    assert model.name == "stable-diffusion-3"


@pytest.mark.parametrize(
    "fields",
    [
        {"latest_version": None},
        {"latest_version": {"id": "v1"}},
        {"latest_version": {"id": "v1", "openapi_schema": {"components": []}}},
        {"latest_version": {"id": "v1", "openapi_schema": {"components": {"schemas": 3}}}},
    ],
    ids=["no-version", "no-schema", "components-list", "schemas-number"],
)
async def test_a_model_without_a_usable_input_schema_checks_nothing(
    live: AnyClient, mock: respx.MockRouter, fields: dict[str, object]
) -> None:
    mock.get(MODEL_URL).respond(200, json=model_body(**fields))

    model = await call(live.models.get("someone/painter"))

    assert model.input_schema is None
    model.check_input({"anything": object()})


@pytest.mark.parametrize(
    "name",
    [
        "painter",
        "someone/painter/extra",
        "someone/..",
        "../painter",
        "someone/painter?x=1",
        "someone/painter#top",
        "someone/%2e%2e",
        "someone/pain ter",
        "someone/painter\n",
        "someone/painter:" + "v" * 64,
        "/painter",
        "someone/",
        f"{'o' * 101}/painter",
        "",
    ],
)
async def test_a_name_that_is_not_owner_name_fails_before_any_request(
    live: AnyClient, mock: respx.MockRouter, name: str
) -> None:
    anything = mock.route()

    with pytest.raises(ValueError, match="owner/name"):
        await call(live.models.get(name))

    assert not anything.called


async def test_the_homepage_backend_cannot_read_models(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    anything = mock.route()

    with pytest.raises(UnsupportedFeatureError, match="official API"):
        await call(client.models.get("someone/painter"))

    assert not anything.called


async def test_a_missing_model_is_not_found(live: AnyClient, mock: respx.MockRouter) -> None:
    mock.get(MODEL_URL).respond(404, json={"detail": "Not found."})

    with pytest.raises(NotFoundError, match="Not found"):
        await call(live.models.get("someone/painter"))


NESTED = "[" * 300 + "]" * 300


@pytest.mark.parametrize(
    "content",
    [
        b"<html>Bad gateway</html>",
        b"[1, 2]",
        json.dumps(model_body(owner=None)).encode(),
        json.dumps(model_body(name=42)).encode(),
        json.dumps(model_body(run_count="many")).encode(),
        json.dumps(model_body(latest_version="v1")).encode(),
        json.dumps(model_body(latest_version={"cog_version": "0.9"})).encode(),
        json.dumps(model_body(latest_version={"id": "v1", "openapi_schema": [1]})).encode(),
        json.dumps(model_body(description={"text": "x"})).encode(),
        f'{{"owner": "a", "name": "b", "latest_version": {NESTED}}}'.encode(),
    ],
    ids=[
        "html",
        "array",
        "owner-null",
        "name-number",
        "run-count-text",
        "version-string",
        "version-without-id",
        "schema-list",
        "description-object",
        "nested-300-deep",
    ],
)
async def test_an_answer_that_is_not_a_model_is_a_validation_error(
    live: AnyClient, mock: respx.MockRouter, content: bytes
) -> None:
    mock.get(MODEL_URL).respond(200, content=content)

    with pytest.raises(ResponseValidationError):
        await call(live.models.get("someone/painter"))


async def test_a_huge_answer_stops_at_the_response_limit(
    mode: Mode, mock: respx.MockRouter
) -> None:
    enum = [f"value-{n}" for n in range(20_000)]
    mock.get(MODEL_URL).respond(200, json=model_body(description="x", pad=enum))
    client = make_client(mode, api_token=TOKEN, max_response_bytes=64 * 1024)

    with pytest.raises(ResponseTooLargeError) as caught:
        await call(client.models.get("someone/painter"))
    await close(client)

    assert caught.value.limit == 64 * 1024


def test_sync_types(mock: respx.MockRouter) -> None:
    mock.get(MODEL_URL).respond(200, json=model_body())
    with Client(base_url=BASE_URL, api_token=TOKEN) as client:
        model = client.models.get("someone/painter")
        assert_type(model, Model)
        assert_type(model.latest_version, ModelVersion | None)
        assert_type(model.input_schema, dict[str, pydantic.JsonValue] | None)


async def test_async_types(mock: respx.MockRouter) -> None:
    mock.get(MODEL_URL).respond(200, json=model_body())
    async with AsyncClient(base_url=BASE_URL, api_token=TOKEN) as client:
        model = await client.models.get("someone/painter")
        assert_type(model, Model)
        assert_type(model.check_input({"prompt": "x"}), None)
