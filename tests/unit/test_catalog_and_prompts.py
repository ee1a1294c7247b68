"""The catalog's resolver and the messages-to-prompt rules (docs/protocol.md §4, §5)."""

from __future__ import annotations

from typing import get_args

import pytest

from replicatehome import UnknownModelError
from replicatehome.catalog import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_TEXT_MODEL,
    MODELS,
    GemmaName,
    ImageModelName,
    PlaygroundName,
    SDXLLightningName,
    StableDiffusion3Name,
    TextModelName,
    find,
    resolve,
)
from replicatehome.inputs import INPUT_MODELS
from replicatehome.prompts import Message, build_prompt


def test_catalog_matches_the_seed() -> None:
    assert [(m.name, m.alias, m.kind) for m in MODELS] == [
        ("google-deepmind/gemma-2b-it", "gemma-2b", "text"),
        ("stability-ai/stable-diffusion-3", "sd-3", "image"),
        ("bytedance/sdxl-lightning-4step", "sdxl", "image"),
        ("playgroundai/playground-v2.5-1024px-aesthetic", "playground-v2.5", "image"),
    ]
    assert all(m.version is not None and len(m.version) == 64 for m in MODELS)
    assert find(DEFAULT_TEXT_MODEL) is MODELS[0]
    assert find(DEFAULT_IMAGE_MODEL) is MODELS[1]


def test_aliases_and_full_names_resolve_to_the_same_spec() -> None:
    assert resolve("sdxl") is resolve("bytedance/sdxl-lightning-4step")
    spec = resolve("sdxl")
    assert (spec.owner, spec.short_name) == ("bytedance", "sdxl-lightning-4step")


def test_an_explicit_version_overrides_the_pinned_one() -> None:
    spec = resolve("gemma-2b", version="abc")
    assert (spec.name, spec.version, spec.kind, spec.alias) == (
        "google-deepmind/gemma-2b-it",
        "abc",
        "text",
        "gemma-2b",
    )
    assert resolve("gemma-2b:def").version == "def"


def test_other_models_need_a_version_unless_the_backend_allows_none() -> None:
    assert resolve("meta/llama", version="v").version == "v"
    assert resolve("meta/llama:v").version == "v"
    assert resolve("meta/llama", allow_unversioned=True).version is None
    with pytest.raises(UnknownModelError, match="pass its full 'owner/name' and version="):
        resolve("meta/llama")


@pytest.mark.parametrize("name", ["gpt-5", "a/b/c", "/x", "x/", ""])
def test_unknown_names_list_every_known_name(name: str) -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve(name, version="v" if "/" in name else None)
    assert caught.value.name == name
    assert "gemma-2b" in caught.value.known
    assert "playgroundai/playground-v2.5-1024px-aesthetic" in str(caught.value)


CHAT: list[Message] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "a"},
    {"role": "assistant", "content": "b"},
    {"role": "user", "content": "c"},
]


def test_several_messages_become_a_transcript_for_text_models() -> None:
    expected = "System: be brief\nUser: a\nAssistant: b\nUser: c\nAssistant:"
    assert build_prompt("text", messages=CHAT) == expected


def test_one_message_is_sent_unchanged() -> None:
    assert build_prompt("text", messages=[{"role": "user", "content": "hi"}]) == "hi"


def test_image_models_take_the_last_message() -> None:
    assert build_prompt("image", messages=CHAT) == "c"


def test_an_explicit_prompt_wins() -> None:
    assert build_prompt("text", "mine", CHAT) == "mine"


def test_no_prompt_at_all_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="Pass a prompt"):
        build_prompt("text", None, [])


def test_the_name_literals_are_the_catalogs_names_and_aliases() -> None:
    literals = {
        "google-deepmind/gemma-2b-it": GemmaName,
        "stability-ai/stable-diffusion-3": StableDiffusion3Name,
        "bytedance/sdxl-lightning-4step": SDXLLightningName,
        "playgroundai/playground-v2.5-1024px-aesthetic": PlaygroundName,
    }
    assert list(literals) == [spec.name for spec in MODELS]
    for spec in MODELS:
        assert get_args(literals[spec.name]) == (spec.name, spec.alias)
    for kind, literal in (("text", TextModelName), ("image", ImageModelName)):
        names = [key for spec in MODELS if spec.kind == kind for key in (spec.name, spec.alias)]
        assert list(get_args(literal)) == names


def test_every_catalog_model_and_no_other_has_an_input_schema() -> None:
    assert list(INPUT_MODELS) == [spec.name for spec in MODELS]
