"""The SDK's official-API features end to end against the emulator, through both clients.

Each side is tested on its own elsewhere (respx for the SDK, raw httpx for the emulator); here
they meet, so that a difference in how each reads the API shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from replicatehome import AsyncClient, Client, InputValidationError, Model, TextResult
from replicatehome.catalog import MODELS, ModelSpec
from replicatehome.emulator import Emulator
from replicatehome.webhooks import verify

from ..emulator.helpers import WEBHOOK_SECRET, Receiver, receiver
from ..helpers import AnyClient, Mode, call, close, handle

__all__ = ["receiver"]  # the fixture, used by name

TOKEN = "r8_emulated_token"


OTHER = ModelSpec("someone/echo", "e" * 64, "text")
"""A model outside the catalog that the emulator runs: the SDK has no schema of its own for it."""


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    models = (*MODELS, OTHER)
    with Emulator(duration=0.2, starting=0.02, webhook_secret=WEBHOOK_SECRET, models=models) as emu:
        yield emu


@pytest.fixture
async def official(mode: Mode, server: Emulator) -> AsyncIterator[AnyClient]:
    cls = Client if mode == "sync" else AsyncClient
    client = cls(base_url=server.url, api_token=TOKEN, poll_interval=0.02)
    yield client
    await close(client)


async def listed(client: AnyClient, count: int) -> list[str]:
    listing = client.predictions.list()
    ids: list[str] = []
    if isinstance(listing, AsyncIterator):
        async for p in listing:
            ids.append(p.id)
            if len(ids) == count:
                break
    else:
        for item in listing:
            ids.append(item.id)
            if len(ids) == count:
                break
    return ids


async def test_listing_gives_the_newest_first(official: AnyClient) -> None:
    made = [
        (await handle(official.predictions.create("gemma-2b", input={"prompt": f"n{n}"}))).id
        for n in range(3)
    ]

    assert await listed(official, 3) == made[::-1]


async def test_a_path_in_an_input_is_uploaded_and_sent_as_its_url(
    official: AnyClient, server: Emulator, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)

    p = await handle(official.predictions.create("sd-3", input={"prompt": "a fox", "image": photo}))

    sent = (p.input or {})["image"]
    assert isinstance(sent, str)
    assert sent.startswith(f"{server.url}/v1/files/")
    assert server.stats.requests.get("uploads", 0) >= 1


async def test_a_deployment_of_a_catalog_model_gives_that_models_result(
    official: AnyClient,
) -> None:
    p = await handle(
        official.predictions.create(
            deployment="google-deepmind/gemma-2b-it", input={"prompt": "hello"}
        )
    )
    result = await call(p.wait())

    # The deployment's prediction names the model it runs, and the catalog knows that one.
    assert isinstance(result, TextResult)
    assert result.text.startswith("This is emulated output")


async def test_webhook_deliveries_verify_with_the_secret_the_client_reads(
    official: AnyClient, receiver: Receiver
) -> None:
    secret = await call(official.webhooks.default_secret())
    assert secret == WEBHOOK_SECRET

    p = await handle(
        official.predictions.create(
            "gemma-2b",
            input={"prompt": "hook"},
            webhook=receiver.url,
            webhook_events_filter=["completed"],
        )
    )
    (delivery,) = receiver.wait_for(lambda got: len(got) >= 1)

    prediction = verify(delivery.body, delivery.headers, secret)
    assert (prediction.id, prediction.status) == (p.id, "succeeded")


async def test_models_get_reads_the_emulated_model_and_its_schema(official: AnyClient) -> None:
    model = await call(official.models.get("sd-3"))

    assert isinstance(model, Model)
    assert (model.owner, model.name) == ("stability-ai", "stable-diffusion-3")
    assert model.latest_version is not None
    assert model.latest_version.id == MODELS[1].version
    assert model.input_schema is not None
    model.check_input({"prompt": "a fox"})
    with pytest.raises(InputValidationError, match="prompt"):
        model.check_input({"prompt": 3})


async def test_inputs_are_checked_before_the_emulator_sees_a_create(
    official: AnyClient, server: Emulator
) -> None:
    server.stats.reset()

    with pytest.raises(InputValidationError, match="aspect_ratio"):
        await handle(official.predictions.create("sd-3", input={"aspect_ratio": "16x9"}))
    for prompt in ("one", "two"):
        await handle(
            official.predictions.create(OTHER.name, input={"prompt": prompt}, validate_input=True)
        )
    with pytest.raises(InputValidationError, match="prompt"):
        await handle(
            official.predictions.create(OTHER.name, input={"prompt": 3}, validate_input=True)
        )

    # One read of the model's schema for three checks; only the two that fit were created.
    assert server.stats.requests.get("model") == 1
    assert server.stats.predictions == 2
