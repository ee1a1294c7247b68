"""Predictions' inputs as the emulator reads them, for both protocols.

A catalog model's input is checked against the pydantic model the SDK validates with
(`replicatehome.inputs`), so the two cannot drift apart; another model's needs a ``prompt``.

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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from ..catalog import ModelSpec
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
from ._config import MAX_IMAGES, MAX_INPUT_DURATION, EmulatorConfig
from ._images import Picture
from ._state import DEFAULT_PICTURE

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "SD3_SIZES",
    "InputError",
    "ParsedInput",
    "parse_input",
]

_SHOULD: Final = "Input should be"
_A_PROMPT: Final = "a string: the prompt is required"

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


@dataclass(frozen=True, slots=True)
class ParsedInput:
    """What the emulator needs from a valid input.

    Attributes:
        prompt: The prompt.
        images: How many images to make (0 for text models).
        duration: The seconds of processing the input asks for (``None``: the configured
            `duration`).
        picture: How the images look: format, size, seed.
        max_new_tokens: Where to cut the text, in tokens (``None``: nowhere).
    """

    prompt: str
    images: int
    duration: float | None = None
    picture: Picture = DEFAULT_PICTURE
    max_new_tokens: int | None = None


class InputError(ValueError):
    """An input the model cannot run: every problem of it, in the SDK's words."""

    def __init__(self, problems: tuple[InputProblem, ...]) -> None:
        """Hold `problems`, one per field that is wrong."""
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class _CatalogReading:
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


def parse_input(
    config: EmulatorConfig, spec: ModelSpec, inputs: Mapping[str, JsonValue]
) -> ParsedInput:
    """Check a prediction's input for `spec`, and read what it asks for.

    A catalog model's input is checked against its schema; another model's needs a string
    ``prompt`` and, for images, ``num_outputs`` from 1 to `MAX_IMAGES` if any.

    Raises:
        InputError: every problem of the input, including an
            `EmulatorConfig.duration_from_input` key with anything but a number of seconds
            from 0 to `MAX_INPUT_DURATION`.
    """
    problems: list[InputProblem] = []
    try:
        parsed = _parse_model_input(config, spec, inputs)
    except InputError as error:
        problems.extend(error.problems)
    try:
        duration = _input_duration(config, inputs)
    except InputError as error:
        problems.extend(error.problems)
    if problems:
        raise InputError(tuple(problems))
    return replace(parsed, duration=duration)


def _parse_model_input(
    config: EmulatorConfig, spec: ModelSpec, inputs: Mapping[str, JsonValue]
) -> ParsedInput:
    size = config.image_size
    reading = _read_catalog_input(spec.name, inputs, size=size)
    image = spec.kind == "image"
    if reading is not None:
        images = config.image_count if reading.images is None else reading.images
        return ParsedInput(
            reading.prompt,
            images if image else 0,
            picture=reading.picture,
            max_new_tokens=None if image else reading.max_new_tokens,
        )
    prompt = inputs.get("prompt")
    if not isinstance(prompt, str):
        raise InputError((InputProblem("prompt", prompt, _A_PROMPT, f"{_SHOULD} {_A_PROMPT}"),))
    if not image:
        return ParsedInput(prompt, 0)
    count = inputs.get("num_outputs", config.image_count)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MAX_IMAGES:
        allowed = f"an integer from 1 to {MAX_IMAGES}"
        raise InputError((InputProblem("num_outputs", count, allowed, f"{_SHOULD} {allowed}"),))
    return ParsedInput(prompt, count, picture=Picture("png", size, size))


def _input_duration(config: EmulatorConfig, inputs: Mapping[str, JsonValue]) -> float | None:
    """The seconds of processing the input asks for, if the config lets inputs ask."""
    key = config.duration_from_input
    if key is None or key not in inputs:
        return None
    seconds = inputs[key]
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= MAX_INPUT_DURATION  # also refuses NaN
    ):
        allowed = f"a number of seconds from 0 to {MAX_INPUT_DURATION:g}"
        raise InputError((InputProblem(key, seconds, allowed, f"{_SHOULD} {allowed}"),))
    return float(seconds)


def _read_catalog_input(
    model: str, inputs: Mapping[str, JsonValue], *, size: int
) -> _CatalogReading | None:
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


def _reading(values: CatalogInput, size: int) -> _CatalogReading:
    if isinstance(values, GemmaInput):
        return _CatalogReading(
            values.prompt, None, Picture("png", size, size), values.max_new_tokens
        )
    if isinstance(values, StableDiffusion3Input):
        width, height = SD3_SIZES[values.aspect_ratio]
        picture = Picture(values.output_format, width, height, values.seed)
        return _CatalogReading(values.prompt, None, picture, None)
    assert isinstance(values, SDXLLightningInput | PlaygroundInput)
    given = "num_outputs" in values.model_fields_set
    picture = Picture("png", values.width, values.height, values.seed)
    return _CatalogReading(values.prompt, values.num_outputs if given else None, picture, None)
