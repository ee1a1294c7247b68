"""`replicatehome.compat.g4f.ReplicateHome`: the seed's gpt4free provider, kept compatible.

These run with or without g4f installed (``nox -s compat`` runs them with it). Requests go to the
emulator on 127.0.0.1, or to respx where the exact request body is the point.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import pytest
import respx

from replicatehome import (
    APIConnectionError,
    PredictionFailedError,
    PredictionTimeoutError,
    UnknownModelError,
)
from replicatehome.catalog import DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL, MODELS
from replicatehome.compat.g4f import (
    ImageResponse,
    Messages,
    ModelNotSupportedError,
    ProviderFailedError,
    ProviderTimeoutError,
    ReplicateHome,
)
from replicatehome.emulator import Emulator, Faults, emulated_text

from ..helpers import BASE_URL, GEMMA_VERSION, SD3_VERSION, TLS, answer

GEMMA = "google-deepmind/gemma-2b-it"
SD3 = "stability-ai/stable-diffusion-3"
SDXL = "bytedance/sdxl-lightning-4step"
PLAYGROUND = "playgroundai/playground-v2.5-1024px-aesthetic"
HI: Messages = [{"role": "user", "content": "hi"}]


class Mocked(ReplicateHome):
    """The provider pointed at respx's host, to read exactly what it sends."""

    api_endpoint = f"{BASE_URL}/api/prediction"


async def run(
    provider: type[ReplicateHome],
    model: str,
    messages: Messages,
    /,
    *,
    prompt: str | None = None,
    proxy: str | None = None,
    **kwargs: object,
) -> list[str | ImageResponse]:
    """Everything `create_async_generator` yields."""
    stream = provider.create_async_generator(model, messages, prompt=prompt, proxy=proxy, **kwargs)
    return [item async for item in stream]


async def text(
    provider: type[ReplicateHome],
    model: str,
    messages: Messages,
    /,
    *,
    prompt: str | None = None,
    proxy: str | None = None,
    **kwargs: object,
) -> str:
    """The text `create_async_generator` yields, joined; it must all be `str`."""
    chunks = await run(provider, model, messages, prompt=prompt, proxy=proxy, **kwargs)
    assert all(isinstance(chunk, str) for chunk in chunks)
    return "".join(str(chunk) for chunk in chunks)


async def image(
    provider: type[ReplicateHome],
    model: str,
    messages: Messages,
    /,
    *,
    prompt: str | None = None,
    proxy: str | None = None,
    **kwargs: object,
) -> ImageResponse:
    """The single `ImageResponse` `create_async_generator` yields."""
    [item] = await run(provider, model, messages, prompt=prompt, proxy=proxy, **kwargs)
    assert isinstance(item, ImageResponse)
    return item


async def collect_into(
    items: list[str | ImageResponse], stream: AsyncIterator[str | ImageResponse]
) -> None:
    """Append what `stream` yields to `items`, so what came before an error can be checked."""
    async for item in stream:
        items.append(item)


def sent_input(route: respx.Route) -> dict[str, object]:
    """The body of the last create request."""
    body: dict[str, object] = json.loads(route.calls.last.request.content)
    return body


# --- class attributes -------------------------------------------------------------------------


def test_class_attributes_are_the_seeds() -> None:
    assert ReplicateHome.url == "https://replicate.com"
    assert ReplicateHome.api_endpoint == "https://homepage.replicate.com/api/prediction"
    assert ReplicateHome.working is True
    assert ReplicateHome.supports_stream is True
    assert ReplicateHome.default_model == GEMMA
    assert ReplicateHome.default_image_model == SD3
    assert ReplicateHome.image_models == [SD3, SDXL, PLAYGROUND]
    assert ReplicateHome.text_models == [GEMMA]
    assert ReplicateHome.models == [GEMMA, SD3, SDXL, PLAYGROUND]
    assert list(ReplicateHome.model_aliases.items()) == [
        ("gemma-2b", GEMMA),
        ("sd-3", SD3),
        ("sdxl", SDXL),
        ("playground-v2.5", PLAYGROUND),
    ]
    assert list(ReplicateHome.model_versions.items()) == [
        (GEMMA, GEMMA_VERSION),
        (SD3, SD3_VERSION),
        (SDXL, "5f24084160c9089501c1b3545d9be3c27883ae2239b6f412990e82d4a6210f8f"),
        (PLAYGROUND, "a45f82a1382bed5c7aeb861dac7c7d191b0fdf74d8d57c4a0e6ed7d4d0bf7d24"),
    ]


def test_class_attributes_come_from_the_catalog() -> None:
    assert ReplicateHome.default_model == DEFAULT_TEXT_MODEL
    assert ReplicateHome.default_image_model == DEFAULT_IMAGE_MODEL
    assert ReplicateHome.models == [spec.name for spec in MODELS]
    assert ReplicateHome.text_models == [spec.name for spec in MODELS if spec.kind == "text"]
    assert ReplicateHome.image_models == [spec.name for spec in MODELS if spec.kind == "image"]
    assert ReplicateHome.model_aliases == {spec.alias: spec.name for spec in MODELS if spec.alias}
    assert ReplicateHome.model_versions == {spec.name: spec.version for spec in MODELS}


def test_importing_the_sdk_imports_neither_the_compat_layer_nor_g4f() -> None:
    code = (
        "import sys, replicatehome\n"
        "loaded = {'replicatehome.compat', 'replicatehome.compat.g4f', 'g4f'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


# --- get_model, get_models ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gemma-2b", GEMMA),
        (GEMMA, GEMMA),
        ("sd-3", SD3),
        ("sdxl", SDXL),
        ("playground-v2.5", PLAYGROUND),
        (PLAYGROUND, PLAYGROUND),
        ("", GEMMA),
        ("auto", GEMMA),
    ],
)
def test_get_model_maps_aliases_and_defaults(name: str, expected: str) -> None:
    assert ReplicateHome.get_model(name) == expected


def test_get_model_rejects_unknown_models_naming_them() -> None:
    with pytest.raises(ModelNotSupportedError) as caught:
        ReplicateHome.get_model("gpt-5")

    assert isinstance(caught.value, UnknownModelError)
    assert caught.value.name == "gpt-5"
    assert str(caught.value).startswith("Model is not supported: gpt-5 in: ReplicateHome.")
    assert "sd-3" in caught.value.known
    assert GEMMA in str(caught.value)


def test_get_models_lists_every_model_in_a_copy() -> None:
    models = ReplicateHome.get_models()
    models.clear()

    assert ReplicateHome.get_models() == [GEMMA, SD3, SDXL, PLAYGROUND]


# --- text -------------------------------------------------------------------------------------


async def test_text_is_streamed_while_the_prediction_runs(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    chunks: list[str] = []
    polls_seen: list[int] = []

    # The emulator's `seconds` (sent as the seed sent any option): long enough to stream in parts.
    async for chunk in local.create_async_generator("gemma-2b", HI, proxy=None, seconds=0.5):
        assert isinstance(chunk, str)
        chunks.append(chunk)
        polls_seen.append(emu.stats.requests.get("poll", 0))

    assert "".join(chunks) == emulated_text(GEMMA, "hi")
    assert len(chunks) > 1
    # The first chunk came while polling still had a way to go: not all at the end, as the seed did.
    assert polls_seen[0] < polls_seen[-1]


@pytest.mark.parametrize(
    ("messages", "prompt"),
    [
        ([{"role": "user", "content": "Just this"}], "Just this"),
        (
            [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c"},
            ],
            "System: be brief\nUser: a\nAssistant: b\nUser: c\nAssistant:",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe "},
                        {"type": "image_url", "image_url": {"url": "data:,"}},
                        {"type": "text", "text": "this"},
                    ],
                }
            ],
            "Describe this",
        ),
    ],
    ids=["one message", "transcript", "content parts"],
)
async def test_messages_become_the_prompt(
    messages: Messages, prompt: str, mock: respx.MockRouter
) -> None:
    create = mock.post("/api/prediction").mock(return_value=answer("succeeded", ["ok"]))

    assert await text(Mocked, "gemma-2b", messages) == "ok"

    assert sent_input(create) == {
        "model": GEMMA,
        "version": GEMMA_VERSION,
        "input": {"prompt": prompt},
    }


async def test_an_explicit_prompt_wins_over_messages(mock: respx.MockRouter) -> None:
    create = mock.post("/api/prediction").mock(return_value=answer("succeeded", ["ok"]))
    messages: Messages = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]

    await text(Mocked, "gemma-2b", messages, prompt="The prompt")

    assert sent_input(create)["input"] == {"prompt": "The prompt"}


async def test_model_inputs_pass_and_gpt4free_options_do_not(mock: respx.MockRouter) -> None:
    create = mock.post("/api/prediction").mock(return_value=answer("succeeded", ["ok"]))

    await text(
        Mocked,
        "gemma-2b",
        HI,
        temperature=0.5,
        top_p=None,
        max_tokens=64,
        stream=True,
        api_key="not-an-input",
        provider=Mocked,
        conversation=None,
        web_search=False,
        response_format={"type": "text"},
        stop=["\n"],
        n=1,
        timeout=30,
    )

    assert sent_input(create)["input"] == {
        "prompt": "hi",
        "temperature": 0.5,
        "max_new_tokens": 64,
    }


async def test_a_subclass_can_pin_other_versions(mock: respx.MockRouter) -> None:
    class Pinned(Mocked):
        model_versions: ClassVar[dict[str, str]] = {**ReplicateHome.model_versions, GEMMA: "0" * 64}

    create = mock.post("/api/prediction").mock(return_value=answer("succeeded", ["ok"]))

    await text(Pinned, GEMMA, HI)

    assert sent_input(create)["version"] == "0" * 64


# --- images -----------------------------------------------------------------------------------


async def test_image_models_yield_one_image_response_for_the_last_message(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    messages: Messages = [
        {"role": "user", "content": "Draw something"},
        {"role": "assistant", "content": "What?"},
        {"role": "user", "content": "A dog in space"},
    ]

    response = await image(local, "sd-3", messages)

    url = response.image_url
    assert url.startswith(f"{emu.url}/")
    assert url.endswith(".webp")  # SD3's default output_format
    assert response.images == url
    assert response.alt == "A dog in space"
    assert str(response) == f"[![A dog in space]({url})]({url})"
    async with httpx.AsyncClient(verify=TLS) as http:
        assert (await http.get(url)).content.startswith(b"RIFF")


async def test_several_images_come_as_a_list(local: type[ReplicateHome]) -> None:
    response = await image(local, "sdxl", HI, n=2, max_tokens=10)

    first, second = response.get_list()
    assert response.images == [first, second]
    assert response.image_url == first
    assert str(response) == f"[![#1 hi]({first})]({first})\n[![#2 hi]({second})]({second})"


async def test_images_send_n_as_num_outputs(mock: respx.MockRouter) -> None:
    create = mock.post("/api/prediction").mock(
        return_value=answer("succeeded", ["https://x.test/1.png", "https://x.test/2.png"])
    )

    await image(Mocked, "sdxl", HI, n=2, max_tokens=10, aspect_ratio="16:9")

    assert sent_input(create)["input"] == {"prompt": "hi", "num_outputs": 2, "aspect_ratio": "16:9"}


def test_image_response_is_usable_on_its_own() -> None:
    response = ImageResponse("https://x.test/a.png", "A  dog\nin space")

    assert response.get_list() == ["https://x.test/a.png"]
    assert response.alt == "A  dog\nin space"
    assert str(response) == "[![A dog in space](https://x.test/a.png)](https://x.test/a.png)"
    assert repr(response) == (
        "ImageResponse(images='https://x.test/a.png', alt='A  dog\\nin space')"
    )
    with_options = ImageResponse(["https://x.test/a.png"], "A dog", {"seed": 42})
    assert with_options.get("seed") == 42
    assert with_options.get("width", "unset") == "unset"


# --- errors -----------------------------------------------------------------------------------


async def test_a_failed_prediction_raises_with_the_seeds_message(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    emu.faults = Faults(failure_rate=1.0)

    with pytest.raises(ProviderFailedError) as caught:
        await text(local, "gemma-2b", HI)

    error = caught.value
    assert isinstance(error, PredictionFailedError)
    assert error.prediction.error
    assert str(error) == f"Prediction failed: {error.prediction.error}"


async def test_a_failed_image_raises_the_same_way(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    emu.faults = Faults(failure_rate=1.0)

    with pytest.raises(PredictionFailedError, match=r"^Prediction failed: \S"):
        await image(local, "sdxl", HI)


async def test_running_out_of_time_raises_prediction_timed_out(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    emu.faults = Faults(never_finish=True)
    chunks: list[str | ImageResponse] = []

    with pytest.raises(ProviderTimeoutError) as caught:
        await collect_into(chunks, local.create_async_generator("gemma-2b", HI, timeout=0.3))

    error = caught.value
    assert isinstance(error, PredictionTimeoutError)
    assert str(error) == "Prediction timed out"
    assert error.timeout == 0.3
    assert error.prediction.status == "processing"
    assert chunks  # what was generated before the deadline was yielded


async def test_the_deadline_defaults_to_the_class_wait_timeout(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    class Impatient(ReplicateHome):
        api_endpoint = local.api_endpoint
        wait_timeout = 0.2

    emu.faults = Faults(never_finish=True)

    with pytest.raises(PredictionTimeoutError, match=r"^Prediction timed out$"):
        await image(Impatient, "sd-3", HI)


def test_the_seed_waited_150_seconds_and_so_does_the_provider() -> None:
    assert ReplicateHome.wait_timeout == 150.0


async def test_a_timeout_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(TypeError, match="timeout must be a number"):
        await run(ReplicateHome, "gemma-2b", HI, timeout="soon")


async def test_an_unknown_model_raises_before_any_request(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    with pytest.raises(UnknownModelError, match="gpt-5"):
        await run(local, "gpt-5", HI)

    assert emu.stats.requests == {}


# --- where requests go ------------------------------------------------------------------------


async def test_a_subclass_endpoint_receives_both_create_and_poll(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    # conftest points $REPLICATEHOME_BASE_URL at a closed port: the subclass's endpoint wins.
    assert await text(local, "gemma-2b", HI) == emulated_text(GEMMA, "hi")

    assert emu.stats.requests["create"] == 1
    assert emu.stats.requests["poll"] >= 1


async def test_the_homepage_protocol_is_kept_even_with_an_api_token(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A token would switch the SDK's clients to the official API; the seed's provider never.
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_not_for_the_homepage")
    create = mock.post("/api/prediction").mock(return_value=answer("succeeded", ["ok"]))

    assert await text(Mocked, "gemma-2b", HI, api_key="r8_not_either") == "ok"

    assert "Authorization" not in create.calls.last.request.headers


async def test_an_endpoint_the_poll_url_cannot_be_derived_from_is_refused() -> None:
    class Elsewhere(ReplicateHome):
        api_endpoint = "http://127.0.0.1:9/v1/predictions"

    with pytest.raises(ValueError, match="must end with '/api/prediction'"):
        await run(Elsewhere, "gemma-2b", HI)


class ForwardProxy:
    """A minimal HTTP forward proxy on 127.0.0.1 that records the URLs it forwards."""

    def __init__(self) -> None:
        self.forwarded: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward one request to the absolute URL in its request line, then close."""
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = head[0].split(" ", 2)
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await reader.readexactly(length)
        self.forwarded.append(f"{method} {target}")
        async with httpx.AsyncClient(verify=TLS) as upstream:
            response = await upstream.request(method, target, content=body)
        writer.write(
            f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
            f"Content-Type: {response.headers.get('content-type', 'text/plain')}\r\n"
            f"Content-Length: {len(response.content)}\r\nConnection: close\r\n\r\n".encode()
            + response.content
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def forward_proxy() -> AsyncIterator[tuple[str, ForwardProxy]]:
    """A running `ForwardProxy` and its URL."""
    proxy = ForwardProxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}", proxy


async def test_a_proxy_carries_every_request_and_its_client_is_closed(
    local: type[ReplicateHome],
    emu: Emulator,
    forward_proxy: tuple[str, ForwardProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy_url, proxy = forward_proxy
    opened: list[tuple[object, httpx.AsyncClient]] = []

    class Recording(httpx.AsyncClient):
        def __init__(self, **options: object) -> None:
            super().__init__(**options)  # type: ignore[arg-type]
            opened.append((options.get("proxy"), self))

    monkeypatch.setattr(httpx, "AsyncClient", Recording)

    assert await text(local, "gemma-2b", HI, proxy=proxy_url) == emulated_text(GEMMA, "hi")

    assert proxy.forwarded[0] == f"POST {emu.url}/api/prediction"
    assert all(line.startswith(f"GET {emu.url}/api/poll?id=") for line in proxy.forwarded[1:])
    assert len(proxy.forwarded) == sum(emu.stats.requests.values())
    [provider_client] = [client for proxied, client in opened if proxied == proxy_url]
    assert provider_client.is_closed


# --- create_completion ------------------------------------------------------------------------


def test_create_completion_streams_text_synchronously(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    chunks = list(local.create_completion("gemma-2b", HI, stream=False, seconds=0.5))

    assert all(isinstance(chunk, str) for chunk in chunks)
    assert len(chunks) > 1
    assert "".join(str(chunk) for chunk in chunks) == emulated_text(GEMMA, "hi")


def test_create_completion_makes_images_and_raises_seed_errors(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    [response] = local.create_completion("sd-3", HI)
    assert isinstance(response, ImageResponse)
    assert response.image_url.startswith(emu.url)

    emu.faults = Faults(failure_rate=1.0)
    with pytest.raises(ProviderFailedError, match=r"^Prediction failed: "):
        list(local.create_completion("gemma-2b", HI))


def test_create_completion_honours_a_proxy(
    local: type[ReplicateHome], emu: Emulator, sleeps: list[float]
) -> None:
    # Nothing listens on port 9: the request fails, so it went to the proxy, not the emulator.
    with pytest.raises(APIConnectionError):
        list(local.create_completion("gemma-2b", HI, proxy="http://127.0.0.1:9"))

    assert emu.stats.requests == {}


# --- the seed's own example -------------------------------------------------------------------


async def test_the_seeds_example_runs_unchanged_but_for_the_import(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The seed's class itself, not a subclass: while `api_endpoint` is the seed's,
    # $REPLICATEHOME_BASE_URL redirects it, as it does every client of the SDK.
    monkeypatch.setenv("REPLICATEHOME_BASE_URL", emu.url)

    # Пример использования create_async_generator для текстовой модели
    model = "google-deepmind/gemma-2b-it"
    messages = [{"role": "user", "content": "Напиши короткое стихотворение."}]
    async for chunk in ReplicateHome.create_async_generator(model=model, messages=messages):
        print(chunk)

    poem = capsys.readouterr().out
    expected = emulated_text(GEMMA, "Напиши короткое стихотворение.")
    assert poem.replace("\n", "") == expected.replace("\n", "")

    # Пример использования create_async_generator для модели изображений
    model = "stability-ai/stable-diffusion-3"
    messages = [{"role": "user", "content": "Собака в космосе."}]
    async for image_response in ReplicateHome.create_async_generator(
        model=model, messages=messages
    ):
        print(image_response.image_url)  # type: ignore[union-attr]

    printed = capsys.readouterr().out
    assert printed.startswith(f"{emu.url}/")
    assert printed.endswith(".webp\n")
