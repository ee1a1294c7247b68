"""generate_text, stream_text and generate_image, through both clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import respx

from replicatehome import (
    AsyncClient,
    Client,
    ImageResult,
    NotFoundError,
    PredictionStatus,
    TextResult,
    UnknownModelError,
)

from ..helpers import (
    GEMMA_VERSION,
    PNG,
    SD3_VERSION,
    AnyClient,
    answer,
    call,
    chunks,
    collect,
    prediction,
)


def sent_json(route: respx.Route, index: int = 0) -> dict[str, object]:
    body: dict[str, object] = json.loads(route.calls[index].request.content)
    return body


async def test_generate_text_joins_tokens_and_sends_model_version_and_input(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    create = mock.post("/api/prediction").respond(201, json={"id": "p1"})
    mock.get("/api/poll", params={"id": "p1"}).mock(
        side_effect=[
            answer("starting", None),
            answer("processing", ["Hello"]),
            answer("succeeded", ["Hello", ", ", "world"], metrics={"predict_time": 1.5}),
        ]
    )

    result = await call(client.generate_text("Say hi", max_new_tokens=12, temperature=0.5))

    assert isinstance(result, TextResult)
    assert result.text == "Hello, world"
    assert str(result) == "Hello, world"
    assert result.prediction.status == "succeeded"
    assert result.prediction.metrics is not None
    assert result.prediction.metrics.predict_time == 1.5
    assert sent_json(create) == {
        "model": "google-deepmind/gemma-2b-it",
        "version": GEMMA_VERSION,
        "input": {"prompt": "Say hi", "max_new_tokens": 12, "temperature": 0.5},
    }


async def test_requests_carry_browser_origin_and_an_honest_user_agent(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/api/prediction").respond(201, json=prediction("succeeded", "ok"))

    await call(client.generate_text("hi"))

    headers = create.calls[0].request.headers
    assert headers["Origin"] == "https://replicate.com"
    assert headers["Referer"] == "https://replicate.com/"
    assert headers["User-Agent"].startswith("replicatehome/0.1.0 python/3.")
    assert "httpx/" in headers["User-Agent"]


@pytest.mark.parametrize("cls", [Client, AsyncClient])
async def test_caller_headers_override_every_default(
    cls: type[AnyClient], mock: respx.MockRouter
) -> None:
    create = mock.post("/api/prediction").respond(201, json=prediction("succeeded", "ok"))
    client = cls(base_url="http://homepage.test", headers={"Origin": "x", "User-Agent": "me"})

    await call(client.generate_text("hi"))

    headers = create.calls[0].request.headers
    assert (headers["Origin"], headers["User-Agent"]) == ("x", "me")


async def test_chat_messages_become_a_transcript_prompt(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["x"]))

    await call(
        client.generate_text(
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c"},
            ]
        )
    )

    sent = sent_json(create)["input"]
    assert sent == {"prompt": "System: be brief\nUser: a\nAssistant: b\nUser: c\nAssistant:"}


async def test_output_as_one_string_and_unknown_fields_are_kept(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/api/prediction").respond(
        201, json=prediction("succeeded", "whole text", brand_new_field={"a": 1})
    )

    result = await call(client.generate_text("hi"))

    assert result.text == "whole text"
    assert result.prediction.model_extra == {"brand_new_field": {"a": 1}}


async def test_stream_text_yields_new_output_as_each_poll_shows_it(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    poll = mock.get("/api/poll").mock(
        side_effect=[
            answer("processing", None),
            answer("processing", ["Once"]),
            answer("processing", ["Once", " upon"]),
            answer("processing", ["Once", " upon"]),
            answer("succeeded", ["Once", " upon", " a time"]),
        ]
    )
    seen = [(chunk, poll.call_count) async for chunk in chunks(client.stream_text("Tell"))]

    assert seen == [("Once", 2), (" upon", 3), (" a time", 5)]


async def test_generate_image_returns_urls_and_downloads_bytes(
    client: AnyClient, mock: respx.MockRouter, tmp_path: Path
) -> None:
    create = mock.post("/api/prediction").respond(201, json=prediction("starting"))
    mock.get("/api/poll").mock(
        return_value=answer(
            "succeeded", ["http://homepage.test/files/a.png", "http://homepage.test/files/b.png"]
        )
    )
    mock.get("/files/a.png").respond(200, content=PNG + b"first")
    mock.get("/files/b.png").respond(200, content=PNG + b"second")

    image = await call(client.generate_image("A dog in space", model="sd-3"))

    assert isinstance(image, ImageResult)
    assert image.url == "http://homepage.test/files/a.png"
    assert image.urls == ("http://homepage.test/files/a.png", "http://homepage.test/files/b.png")
    assert sent_json(create) == {
        "model": "stability-ai/stable-diffusion-3",
        "version": SD3_VERSION,
        "input": {"prompt": "A dog in space"},
    }
    target = tmp_path / "dog.png"
    if isinstance(client, Client):
        assert image.read() == PNG + b"first"
        assert image.read(1) == PNG + b"second"
        assert image.save(target) == target
    else:
        assert await image.aread() == PNG + b"first"
        assert await image.aread(1) == PNG + b"second"
        assert await image.asave(target) == target
    assert target.read_bytes() == PNG + b"first"


async def test_image_prompt_is_the_last_message_and_a_single_url_string_works(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/api/prediction").respond(
        201, json=prediction("succeeded", "http://homepage.test/files/one.png")
    )

    image = await call(
        client.generate_image(
            messages=[{"role": "user", "content": "a cat"}, {"role": "user", "content": "a dog"}],
            model="sdxl",
        )
    )

    assert image.urls == ("http://homepage.test/files/one.png",)
    assert sent_json(create)["input"] == {"prompt": "a dog"}
    assert sent_json(create)["model"] == "bytedance/sdxl-lightning-4step"


async def test_a_failed_download_leaves_no_partial_file(
    client: AnyClient, mock: respx.MockRouter, tmp_path: Path, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(
        201, json=prediction("succeeded", ["http://homepage.test/files/x"])
    )
    mock.get("/files/x").respond(404)
    image = await call(client.generate_image("x"))

    with pytest.raises(NotFoundError, match="404"):
        await call(
            image.save(tmp_path / "x.png")
            if isinstance(client, Client)
            else image.asave(tmp_path / "x.png")
        )

    assert list(tmp_path.iterdir()) == []


async def test_downloading_with_the_other_worlds_method_says_which_to_use(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/api/prediction").respond(
        201, json=prediction("succeeded", ["http://homepage.test/files/x"])
    )
    image = await call(client.generate_image("x"))

    if isinstance(client, Client):
        with pytest.raises(TypeError, match=r"use `result\.read"):
            await image.aread()
    else:
        with pytest.raises(TypeError, match="aread"):
            image.read()


async def test_an_image_without_urls_is_a_clear_error(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    from replicatehome import ResponseValidationError

    mock.post("/api/prediction").respond(201, json=prediction("succeeded", {"weird": 1}))

    with pytest.raises(ResponseValidationError, match="without image URLs"):
        await call(client.generate_image("x"))


async def test_unknown_model_fails_before_any_request_and_lists_known_names(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    with pytest.raises(UnknownModelError) as caught:
        await call(client.generate_text("hi", model="gpt-5"))

    assert "gemma-2b" in str(caught.value)
    assert "stability-ai/stable-diffusion-3" in str(caught.value)
    assert not mock.calls


async def test_any_model_runs_with_a_full_name_and_version(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["ok"]))

    await call(client.generate_text("hi", model="meta/llama:abc123"))
    await call(client.generate_text("hi", model="meta/llama", version="def456"))

    assert sent_json(create, 0)["model"] == "meta/llama"
    assert sent_json(create, 0)["version"] == "abc123"
    assert sent_json(create, 1)["version"] == "def456"


async def test_asking_a_text_model_for_an_image_is_a_usage_error(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    with pytest.raises(ValueError, match="text model"):
        await call(client.generate_image("x", model="gemma-2b"))
    with pytest.raises(ValueError, match="prompt"):
        await call(client.generate_text())
    assert not mock.calls


async def test_status_is_a_string_enum(client: AnyClient, mock: respx.MockRouter) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["x"]))

    result = await call(client.generate_text("hi"))

    assert result.prediction.status == "succeeded"
    assert result.prediction.status is PredictionStatus.SUCCEEDED


async def test_stream_is_lazy_and_nothing_is_sent_until_iterated(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["a", "b"]))

    stream = client.stream_text("hi")
    assert not mock.calls

    assert await collect(stream) == ["ab"]
