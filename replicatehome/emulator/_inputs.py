"""The catalog models' inputs as the emulator reads them: checked against the pydantic models the
SDK validates with (`replicatehome.inputs`), so the two cannot drift apart.

The real API ignores input names a model does not have, and refuses known ones of the wrong type,
out of range or not among the allowed values. The emulator does the same: names the schema does
not know are dropped before validation (so the `EmulatorConfig.duration_from_input` knob, or a
field Replicate adds later, passes), and every problem of the rest is reported at once.

What a valid input asks for shapes the outputs: `num_outputs` images, in `output_format`, of
`width` x `height` (or Stable Diffusion 3's `aspect_ratio`), drawn from the `seed`; text cut
after `max_new_tokens` tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..errors import InputProblem, InputValidationError
from ..inputs import (
    INPUT_MODELS,
    AspectRatio,
    CatalogInput,
    GemmaInput,
    PlaygroundInput,
    SDXLLightningInput,
    StableDiffusion3Input,
    check_input,
)
from ._images import Picture

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["SD3_SIZES", "CatalogReading", "InputError", "read_catalog_input"]

SD3_SIZES: Final[Mapping[AspectRatio, tuple[int, int]]] = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "21:9": (1536, 640),
    "3:2": (1216, 832),
    "2:3": (832, 1216),
    "4:5": (896, 1088),
    "5:4": (1088, 896),
    "9:16": (768, 1344),
    "9:21": (640, 1536),
}
"""Stable Diffusion 3's image size, width by height, for each aspect ratio: about a megapixel,
in multiples of 64, as Stability's API makes them."""


class InputError(ValueError):
    """An input the model cannot run: every problem of it, in the SDK's words."""

    def __init__(self, problems: tuple[InputProblem, ...]) -> None:
        """Hold `problems`, one per field that is wrong."""
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class CatalogReading:
    """What the emulator takes from a valid catalog input.

    Attributes:
        prompt: The prompt, or the schema's default one.
        images: ``num_outputs``, when the model has it and the input gives it.
        picture: The images' format, size and seed.
        max_new_tokens: The text's length cap in tokens, for text models.
    """

    prompt: str
    images: int | None
    picture: Picture
    max_new_tokens: int | None


def read_catalog_input(
    model: str, inputs: Mapping[str, JsonValue], *, size: int
) -> CatalogReading | None:
    """Check `inputs` against catalog `model`'s schema and read it; ``None`` for a model
    without one. `size` is the square images' side of a model whose input sets none.

    Raises:
        InputError: a known field is of the wrong type, out of range or not allowed.
    """
    schema = INPUT_MODELS.get(model)
    if schema is None:
        return None
    known = {key: value for key, value in inputs.items() if key in schema.model_fields}
    try:
        check_input(model, known)
    except InputValidationError as error:
        raise InputError(error.problems) from None
    return _reading(schema.model_validate(known), size)


def _reading(values: CatalogInput, size: int) -> CatalogReading:
    if isinstance(values, GemmaInput):
        return CatalogReading(
            values.prompt, None, Picture("png", size, size), values.max_new_tokens
        )
    if isinstance(values, StableDiffusion3Input):
        width, height = SD3_SIZES[values.aspect_ratio]
        picture = Picture(values.output_format, width, height, values.seed)
        return CatalogReading(values.prompt, None, picture, None)
    assert isinstance(values, SDXLLightningInput | PlaygroundInput)
    given = "num_outputs" in values.model_fields_set
    picture = Picture("png", values.width, values.height, values.seed)
    return CatalogReading(values.prompt, values.num_outputs if given else None, picture, None)
