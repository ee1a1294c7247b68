"""`ReplicateHome` as a real gpt4free provider, driven by gpt4free's own client.

Runs only where ``g4f`` is importable: ``uvx nox -s compat`` installs it. The default suite skips
this module; g4f is never a dependency of the SDK.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from replicatehome import PredictionFailedError
from replicatehome.compat.g4f import ImageResponse, ProviderFailedError, ReplicateHome
from replicatehome.emulator import Emulator, Faults, emulated_text

# g4f is untyped and optional: its modules come from importorskip, typed as Any.
pytest.importorskip("g4f")
base_provider = pytest.importorskip("g4f.providers.base_provider")
g4f_response = pytest.importorskip("g4f.providers.response")
g4f_client = pytest.importorskip("g4f.client")
g4f_cookies = pytest.importorskip("g4f.cookies")

GEMMA = "google-deepmind/gemma-2b-it"
DOC = Path(__file__).parent.parent.parent / "docs" / "migrating-from-gpt4free.md"
# The doc's examples that need g4f are fenced as ```python g4f; test_docs.py skips them.
G4F_BLOCK = re.compile(r"```python g4f\n(.*?)```", re.DOTALL)


@pytest.fixture(autouse=True)
def g4f_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep what gpt4free writes (usage records, downloaded media) in the test's directory."""
    monkeypatch.setattr(g4f_cookies.CookiesConfig, "cookies_dir", str(tmp_path / "g4f"))
    monkeypatch.chdir(tmp_path)


def test_the_provider_is_a_real_gpt4free_provider() -> None:
    assert issubclass(ReplicateHome, base_provider.AsyncGeneratorProvider)
    assert issubclass(ReplicateHome, base_provider.ProviderModelMixin)
    assert issubclass(ImageResponse, g4f_response.ImageResponse)
    assert ReplicateHome.get_model("sd-3") == "stability-ai/stable-diffusion-3"


def test_image_responses_render_as_gpt4free_renders_them() -> None:
    response = ImageResponse("https://x.test/a.png", "A dog")

    assert response.urls == response.images == "https://x.test/a.png"
    assert str(response) == "[![A dog](https://x.test/a.png)](https://x.test/a.png)"
    assert str(response) == g4f_response.ImageResponse("https://x.test/a.png", "A dog").to_string()


async def test_chat_completions_through_gpt4free(local: type[ReplicateHome]) -> None:
    client = g4f_client.AsyncClient(provider=local)
    messages = [{"role": "user", "content": "hi"}]

    completion = await client.chat.completions.create(model="gemma-2b", messages=messages)

    assert completion.choices[0].message.content == emulated_text(GEMMA, "hi")
    assert completion.provider == "LocalReplicateHome"


async def test_streamed_chat_completions_through_gpt4free(local: type[ReplicateHome]) -> None:
    client = g4f_client.AsyncClient(provider=local)
    messages = [{"role": "user", "content": "hi"}]
    deltas: list[str] = []

    async for chunk in client.chat.completions.create(
        model="gemma-2b", messages=messages, stream=True, max_tokens=100
    ):
        content = chunk.choices[0].delta.content
        if content:
            deltas.append(content)

    assert "".join(deltas) == emulated_text(GEMMA, "hi")
    assert len(deltas) > 1


def test_the_synchronous_gpt4free_client_uses_create_completion(
    local: type[ReplicateHome],
) -> None:
    client = g4f_client.Client(provider=local)

    completion = client.chat.completions.create(
        model=GEMMA, messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].message.content == emulated_text(GEMMA, "hi")


async def test_images_through_gpt4free(local: type[ReplicateHome], emu: Emulator) -> None:
    client = g4f_client.AsyncClient(image_provider=local)

    by_url = await client.images.generate(
        prompt="A dog in space", model="sd-3", response_format="url"
    )
    as_base64 = await client.images.generate(
        prompt="A dog in space", model="sdxl", response_format="b64_json"
    )

    assert by_url.data[0].url.startswith(f"{emu.url}/")
    assert by_url.data[0].revised_prompt == "A dog in space"
    assert base64.b64decode(as_base64.data[0].b64_json).startswith(b"\x89PNG")


async def test_errors_reach_gpt4free_callers_typed(
    local: type[ReplicateHome], emu: Emulator
) -> None:
    emu.faults = Faults(failure_rate=1.0)
    client = g4f_client.AsyncClient(provider=local)

    with pytest.raises(ProviderFailedError, match=r"^Prediction failed: ") as caught:
        await client.chat.completions.create(
            model="gemma-2b", messages=[{"role": "user", "content": "hi"}]
        )

    assert isinstance(caught.value, PredictionFailedError)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(code, id=f"g4f-block-{n}")
        for n, code in enumerate(G4F_BLOCK.findall(DOC.read_text()), 1)
    ],
)
def test_the_docs_gpt4free_examples_run(
    code: str,
    emu: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPLICATEHOME_BASE_URL", emu.url)

    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})

    assert emulated_text(GEMMA, "Write a haiku about the sea") in capsys.readouterr().out
