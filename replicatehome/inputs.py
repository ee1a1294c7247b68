"""The inputs of the catalog's models, as pydantic models (to validate) and TypedDicts (to type).

Each model's fields, defaults, bounds and allowed values follow the ``Input`` of its latest
version's published OpenAPI schema (Replicate's public model records, package
``all-the-public-replicate-models`` 1.352.0). For sdxl-lightning-4step that version is newer than
the one the catalog pins; its inputs are the same names. See docs/inputs.md.

The pydantic models are strict: ``aspect_ratio=3`` or ``steps="4"`` is an error, not a
conversion, because the real model would fail the prediction after a cold start. `check_input`
turns every problem of an input into one `InputValidationError` before any request is sent.
The TypedDicts type the keyword inputs of ``generate_text`` and ``generate_image``, so mypy
catches the same mistakes in users' code; a test keeps each in step with its pydantic model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Annotated, Final, Literal, TypeAlias, TypedDict

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, WithJsonSchema

from .errors import InputProblem, InputValidationError

__all__ = [
    "INPUT_MODELS",
    "AspectRatio",
    "CatalogInput",
    "FileInput",
    "GemmaInput",
    "GemmaInputs",
    "ImageFormat",
    "PlaygroundInput",
    "PlaygroundInputs",
    "PlaygroundScheduler",
    "SDXLLightningInput",
    "SDXLLightningInputs",
    "SDXLScheduler",
    "StableDiffusion3Input",
    "StableDiffusion3Inputs",
    "check_input",
]

FileInput: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
"""A file input: a URL or ``data:`` URI as a string, or a path, bytes or binary file object."""

AspectRatio: TypeAlias = Literal["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "9:16", "9:21"]
"""Stable Diffusion 3's aspect ratios."""
ImageFormat: TypeAlias = Literal["webp", "jpg", "png"]
"""Stable Diffusion 3's output formats."""
SDXLScheduler: TypeAlias = Literal[
    "DDIM",
    "DPMSolverMultistep",
    "HeunDiscrete",
    "KarrasDPM",
    "K_EULER_ANCESTRAL",
    "K_EULER",
    "PNDM",
    "DPM++2MSDE",
]
"""SDXL Lightning's schedulers."""
PlaygroundScheduler: TypeAlias = Literal[
    "DDIM",
    "DPMSolverMultistep",
    "HeunDiscrete",
    "K_EULER_ANCESTRAL",
    "K_EULER",
    "PNDM",
    "DPM++2MKarras",
    "DPMSolver++",
]
"""Playground v2.5's schedulers."""


def _file(value: object) -> object:
    # The file itself is read later, within its cap (see _file_inputs): here only its kind.
    if isinstance(value, str | os.PathLike | bytes | bytearray | memoryview):
        return value
    if callable(getattr(value, "read", None)):
        return value
    raise ValueError("Input should be a URL, a data: URI, a path, bytes or a binary file")


_File = Annotated[
    object, PlainValidator(_file), WithJsonSchema({"type": "string", "format": "uri"})
]


class CatalogInput(BaseModel):
    """The base of the input models: strict, and no field the schema does not know."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class GemmaInput(CatalogInput):
    """The input of ``google-deepmind/gemma-2b-it`` (alias ``gemma-2b``)."""

    prompt: str = Field(
        "Write me a poem about Machine Learning.", description="Prompt to send to the model."
    )
    max_new_tokens: int = Field(
        200,
        ge=1,
        description="Maximum number of tokens to generate. A word is generally 2-3 tokens",
    )
    min_new_tokens: int = Field(
        -1,
        ge=-1,
        description="Minimum number of tokens to generate. To disable, set to -1. A word is "
        "generally 2-3 tokens.",
    )
    temperature: float = Field(
        0.7,
        ge=0.01,
        le=5,
        description="Adjusts randomness of outputs, greater than 1 is random and 0 is "
        "deterministic, 0.75 is a good starting value.",
    )
    top_p: float = Field(
        0.95,
        ge=0,
        le=1,
        description="When decoding text, samples from the top p percentage of most likely "
        "tokens; lower to ignore less likely tokens",
    )
    top_k: int = Field(
        50,
        description="When decoding text, samples from the top k most likely tokens; lower to "
        "ignore less likely tokens",
    )
    repetition_penalty: float = Field(
        1.15,
        ge=0,
        description="A parameter that controls how repetitive text can be. Lower means more "
        "repetitive, while higher means less repetitive. Set to 1.0 to disable.",
    )


class StableDiffusion3Input(CatalogInput):
    """The input of ``stability-ai/stable-diffusion-3`` (alias ``sd-3``)."""

    prompt: str = ""
    aspect_ratio: AspectRatio = Field(
        "1:1",
        description="The aspect ratio of your output image. This value is ignored if you are "
        "using an input image.",
    )
    cfg: float = Field(
        3.5,
        ge=0,
        le=20,
        description="The guidance scale tells the model how similar the output should be to "
        "the prompt.",
    )
    image: _File | None = Field(
        None,
        description="Input image for image to image mode. The aspect ratio of your output will "
        "match this image.",
    )
    prompt_strength: float = Field(
        0.85,
        ge=0,
        le=1,
        description="Prompt strength (or denoising strength) when using image to image. 1.0 "
        "corresponds to full destruction of information in image.",
    )
    steps: int = Field(28, ge=1, le=28, description="Number of steps to run the sampler for.")
    output_format: ImageFormat = Field("webp", description="Format of the output images")
    output_quality: int = Field(
        90,
        ge=0,
        le=100,
        description="Quality of the output images, from 0 to 100. 100 is best quality, 0 is "
        "lowest quality.",
    )
    seed: int | None = Field(None, description="Set a seed for reproducibility. Random by default.")
    negative_prompt: str = Field(
        "",
        description="Negative prompts do not really work in SD3. Using a negative prompt will "
        "change your output in unpredictable ways.",
    )


class SDXLLightningInput(CatalogInput):
    """The input of ``bytedance/sdxl-lightning-4step`` (alias ``sdxl``)."""

    prompt: str = Field(
        "self-portrait of a woman, lightning in the background", description="Input prompt"
    )
    negative_prompt: str = Field("worst quality, low quality", description="Negative Input prompt")
    width: int = Field(
        1024, ge=256, le=1280, description="Width of output image. Recommended 1024 or 1280"
    )
    height: int = Field(
        1024, ge=256, le=1280, description="Height of output image. Recommended 1024 or 1280"
    )
    num_outputs: int = Field(1, ge=1, le=4, description="Number of images to output.")
    scheduler: SDXLScheduler = Field("K_EULER", description="scheduler")
    num_inference_steps: int = Field(
        4, ge=1, le=10, description="Number of denoising steps. 4 for best results"
    )
    guidance_scale: float = Field(0, ge=0, le=50, description="Scale for classifier-free guidance")
    seed: int | None = Field(None, description="Random seed. Leave blank to randomize the seed")
    disable_safety_checker: bool = Field(
        False, description="Disable safety checker for generated images"
    )


class PlaygroundInput(CatalogInput):
    """The input of ``playgroundai/playground-v2.5-1024px-aesthetic`` (``playground-v2.5``)."""

    prompt: str = Field(
        "Astronaut in a jungle, cold color palette, muted colors, detailed, 8k",
        description="Input prompt",
    )
    negative_prompt: str = Field(
        "ugly, deformed, noisy, blurry, distorted", description="Negative Input prompt"
    )
    image: _File | None = Field(None, description="Input image for img2img or inpaint mode")
    mask: _File | None = Field(
        None,
        description="Input mask for inpaint mode. Black areas will be preserved, white areas "
        "will be inpainted.",
    )
    width: int = Field(1024, ge=256, le=1536, description="Width of output image")
    height: int = Field(1024, ge=256, le=1536, description="Height of output image")
    num_outputs: int = Field(1, ge=1, le=4, description="Number of images to output.")
    scheduler: PlaygroundScheduler = Field(
        "DPMSolver++",
        description="Scheduler. DPMSolver++ or DPM++2MKarras is recommended for most cases",
    )
    num_inference_steps: int = Field(25, ge=1, le=60, description="Number of denoising steps")
    guidance_scale: float = Field(
        3, ge=0.1, le=20, description="Scale for classifier-free guidance"
    )
    prompt_strength: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Prompt strength when using img2img / inpaint. 1.0 corresponds to full "
        "destruction of information in image",
    )
    seed: int | None = Field(None, description="Random seed. Leave blank to randomize the seed")
    apply_watermark: bool = Field(
        True,
        description="Applies a watermark to enable determining if an image is generated in "
        "downstream applications. If you have other provisions for generating or deploying "
        "images safely, you can use this to disable watermarking.",
    )
    disable_safety_checker: bool = Field(
        False,
        description="Disable safety checker for generated images. This feature is only "
        "available through the API. See https://replicate.com/docs/how-does-replicate-work#safety",
    )


# The keyword inputs of generate_text/generate_image: every field but the prompt, which is the
# methods' own first argument. A test keeps each in step with its pydantic model above.


class GemmaInputs(TypedDict, total=False):
    """Keyword inputs of gemma-2b-it: see `GemmaInput` for defaults and bounds."""

    max_new_tokens: int
    min_new_tokens: int
    temperature: float
    top_p: float
    top_k: int
    repetition_penalty: float


class StableDiffusion3Inputs(TypedDict, total=False):
    """Keyword inputs of stable-diffusion-3: see `StableDiffusion3Input`."""

    aspect_ratio: AspectRatio
    cfg: float
    image: FileInput | None
    prompt_strength: float
    steps: int
    output_format: ImageFormat
    output_quality: int
    seed: int | None
    negative_prompt: str


class SDXLLightningInputs(TypedDict, total=False):
    """Keyword inputs of sdxl-lightning-4step: see `SDXLLightningInput`."""

    negative_prompt: str
    width: int
    height: int
    num_outputs: int
    scheduler: SDXLScheduler
    num_inference_steps: int
    guidance_scale: float
    seed: int | None
    disable_safety_checker: bool


class PlaygroundInputs(TypedDict, total=False):
    """Keyword inputs of playground-v2.5-1024px-aesthetic: see `PlaygroundInput`."""

    negative_prompt: str
    image: FileInput | None
    mask: FileInput | None
    width: int
    height: int
    num_outputs: int
    scheduler: PlaygroundScheduler
    num_inference_steps: int
    guidance_scale: float
    prompt_strength: float
    seed: int | None
    apply_watermark: bool
    disable_safety_checker: bool


INPUT_MODELS: Final[Mapping[str, type[CatalogInput]]] = {
    "google-deepmind/gemma-2b-it": GemmaInput,
    "stability-ai/stable-diffusion-3": StableDiffusion3Input,
    "bytedance/sdxl-lightning-4step": SDXLLightningInput,
    "playgroundai/playground-v2.5-1024px-aesthetic": PlaygroundInput,
}
"""Each catalog model's full ``owner/name`` and the pydantic model of its input."""

_SHOULD_BE: Final = "Input should be "


def check_input(model: str, given: Mapping[str, object]) -> None:
    """Check `given` against the input schema of catalog `model` (its full ``owner/name``).

    Models outside the catalog have no schema here, and pass.

    Raises:
        InputValidationError: every problem of the input at once, before any request.
    """
    schema = INPUT_MODELS.get(model)
    if schema is None:
        return
    try:
        schema.model_validate(given)
    except ValidationError as exc:
        known = tuple(schema.model_fields)
        problems = tuple(_problem(error, known) for error in exc.errors(include_url=False))
        raise InputValidationError(model, problems) from None


def _problem(error: Mapping[str, object], known: tuple[str, ...]) -> InputProblem:
    loc = error["loc"]
    field = ".".join(map(str, loc)) if isinstance(loc, tuple) else str(loc)
    given = error.get("input")
    if error["type"] == "extra_forbidden":
        return InputProblem.unknown(field, given, known, f"one of {', '.join(known)}")
    message = str(error["msg"]).removeprefix("Value error, ")
    allowed = message.removeprefix(_SHOULD_BE) if message.startswith(_SHOULD_BE) else message
    return InputProblem(field, given, allowed, message)
