"""The models behind Replicate's home page, their aliases and versions, and a resolver.

`resolve` turns what a caller typed (a full name, an alias, or ``owner/name:version``) into a
`ModelSpec` before any request is made, so a typo fails fast with the list of known names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from .errors import UnknownModelError

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_TEXT_MODEL",
    "MODELS",
    "MODEL_NAME",
    "GemmaName",
    "ImageModelName",
    "Kind",
    "ModelSpec",
    "PlaygroundName",
    "SDXLLightningName",
    "StableDiffusion3Name",
    "TextModelName",
    "find",
    "resolve",
]

_NAME_PART: Final = r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}"
MODEL_NAME: Final = re.compile(f"{_NAME_PART}/{_NAME_PART}")
"""An ``owner/name`` of a model or a deployment. Both parts go into URL paths, so neither may
start with a dot (no ``..``), and ``/``, ``%``, ``?``, ``#``, spaces and controls are left out."""

Kind = Literal["text", "image"]
"""What a model produces: ``"text"`` (tokens) or ``"image"`` (URLs of images)."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One runnable model: its full ``owner/name``, version hash, kind and alias.

    Models outside the catalog have ``kind`` and ``alias`` of ``None``, and a ``version`` of
    ``None`` when the backend accepts unversioned models.
    """

    name: str
    """The model's full ``owner/name``."""
    version: str | None
    """The version hash that runs; ``None`` to run the model's latest (official API)."""
    kind: Kind | None = None
    """``"text"`` or ``"image"`` for catalog models; ``None`` for others."""
    alias: str | None = None
    """The catalog's short name, such as ``gemma-2b``."""

    @property
    def owner(self) -> str:
        """The part of `name` before the slash."""
        return self.name.partition("/")[0]

    @property
    def short_name(self) -> str:
        """The part of `name` after the slash."""
        return self.name.partition("/")[2]


MODELS: Final[tuple[ModelSpec, ...]] = (
    ModelSpec(
        "google-deepmind/gemma-2b-it",
        "dff94eaf770e1fc211e425a50b51baa8e4cac6c39ef074681f9e39d778773626",
        "text",
        "gemma-2b",
    ),
    ModelSpec(
        "stability-ai/stable-diffusion-3",
        "527d2a6296facb8e47ba1eaf17f142c240c19a30894f437feee9b91cc29d8e4f",
        "image",
        "sd-3",
    ),
    ModelSpec(
        "bytedance/sdxl-lightning-4step",
        "5f24084160c9089501c1b3545d9be3c27883ae2239b6f412990e82d4a6210f8f",
        "image",
        "sdxl",
    ),
    ModelSpec(
        "playgroundai/playground-v2.5-1024px-aesthetic",
        "a45f82a1382bed5c7aeb861dac7c7d191b0fdf74d8d57c4a0e6ed7d4d0bf7d24",
        "image",
        "playground-v2.5",
    ),
)
"""The catalog, text model first, then the image models in the seed's order."""

DEFAULT_TEXT_MODEL: Final = "google-deepmind/gemma-2b-it"
"""The model `generate_text` uses when none is given."""
DEFAULT_IMAGE_MODEL: Final = "stability-ai/stable-diffusion-3"
"""The model `generate_image` uses when none is given."""

# Each model's names, for the overloads that type its keyword inputs; a test keeps them in step
# with MODELS.
GemmaName = Literal["google-deepmind/gemma-2b-it", "gemma-2b"]
"""gemma-2b-it's full name and alias."""
StableDiffusion3Name = Literal["stability-ai/stable-diffusion-3", "sd-3"]
"""stable-diffusion-3's full name and alias."""
SDXLLightningName = Literal["bytedance/sdxl-lightning-4step", "sdxl"]
"""sdxl-lightning-4step's full name and alias."""
PlaygroundName = Literal["playgroundai/playground-v2.5-1024px-aesthetic", "playground-v2.5"]
"""playground-v2.5-1024px-aesthetic's full name and alias."""

TextModelName = GemmaName
"""Names and aliases of the catalog's text models, for precise static types."""
ImageModelName = Literal[StableDiffusion3Name, SDXLLightningName, PlaygroundName]
"""Names and aliases of the catalog's image models, for precise static types."""

_BY_NAME: Final[dict[str, ModelSpec]] = {
    key: spec for spec in MODELS for key in (spec.name, spec.alias) if key is not None
}


def find(name: str) -> ModelSpec | None:
    """Return the catalog entry for a full name or alias, or ``None``."""
    return _BY_NAME.get(name)


def resolve(name: str, *, version: str | None = None, allow_unversioned: bool = False) -> ModelSpec:
    """Resolve a model name, alias, or ``owner/name:version`` to a `ModelSpec`.

    A catalog model keeps its kind and alias; an explicit `version` overrides its pinned one.
    Any other ``owner/name`` works when a version is given (here or after a colon), or when the
    backend accepts unversioned models (`allow_unversioned`).

    Raises:
        UnknownModelError: the name is not in the catalog and cannot be run as given.
    """
    base, _, pinned = name.partition(":")
    version = version or pinned or None
    known = find(base)
    if known is not None:
        return known if version is None else ModelSpec(known.name, version, known.kind, known.alias)
    if MODEL_NAME.fullmatch(base) and (version or allow_unversioned):
        return ModelSpec(base, version)
    raise UnknownModelError(name, tuple(_BY_NAME))
