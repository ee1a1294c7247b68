"""The emulator's configuration: timings, outputs, models, API tokens and initial faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, TypedDict

from ..catalog import MODELS, ModelSpec
from ._faults import Faults

__all__ = ["MAX_INPUT_DURATION", "ConfigOptions", "EmulatorConfig"]

MAX_INPUT_DURATION: Final = 86_400.0
"""The longest duration an input may ask for with `EmulatorConfig.duration_from_input`."""


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """How the emulator behaves. Every field has a default suited to demos.

    Attributes:
        duration: Seconds a prediction spends ``processing``; tests use e.g. ``0.05``.
        starting: Seconds a prediction spends ``starting`` before that.
        image_count: Images per image prediction, unless the input asks for ``num_outputs``.
        image_size: Width and height of the generated PNGs, in pixels.
        faults: The faults in force when the emulator starts. They can be changed later.
        models: The models the emulator knows, by full ``owner/name``: the catalog's by default.
            A model whose ``kind`` is not ``"image"`` produces text.
        api_tokens: The tokens the official ``/v1`` API accepts, or ``None`` to accept any
            non-empty token. The homepage protocol never asks for one.
        prediction_ttl: Seconds a prediction is kept after it ends (succeeds, fails or is
            canceled); then it is gone, and its id answers 404. ``math.inf`` keeps it until
            `max_predictions` evicts it. Running predictions never expire.
        max_predictions: How many predictions are kept at most: creating one more evicts the
            oldest, running or not. Bounds the emulator's memory, however long it runs.
        duration_from_input: An input key, or ``None``. A prediction whose input has this key
            processes for that many seconds instead of `duration` (a number from 0 to
            `MAX_INPUT_DURATION`; anything else is refused with a 422). Benchmarks use it to mix
            durations without changing the clients, which send any input.
    """

    duration: float = 1.0
    starting: float = 0.2
    image_count: int = 1
    image_size: int = 256
    faults: Faults = field(default_factory=Faults)
    models: tuple[ModelSpec, ...] = MODELS
    api_tokens: frozenset[str] | None = None
    prediction_ttl: float = 3600.0
    max_predictions: int = 10_000
    duration_from_input: str | None = None

    def __post_init__(self) -> None:
        if self.duration < 0 or self.starting < 0:
            raise ValueError("duration and starting must not be negative")
        if not 1 <= self.image_count <= 10:
            raise ValueError(f"image_count must be between 1 and 10, got {self.image_count}")
        if not 1 <= self.image_size <= 4096:
            raise ValueError(f"image_size must be between 1 and 4096, got {self.image_size}")
        if not self.models:
            raise ValueError("models must not be empty")
        if self.api_tokens is not None and not all(self.api_tokens):
            raise ValueError("api_tokens must not contain an empty token")
        if not self.prediction_ttl > 0:  # also refuses NaN
            raise ValueError(
                f"prediction_ttl must be a positive number of seconds, got {self.prediction_ttl}"
            )
        if self.max_predictions < 1:
            raise ValueError(f"max_predictions must be at least 1, got {self.max_predictions}")
        if self.duration_from_input == "":
            raise ValueError("duration_from_input must be an input key, not empty")


class ConfigOptions(TypedDict, total=False):
    """`EmulatorConfig`'s fields as keyword arguments, so ``Emulator(duration=0.05)`` is typed."""

    duration: float
    starting: float
    image_count: int
    image_size: int
    faults: Faults
    models: tuple[ModelSpec, ...]
    api_tokens: frozenset[str] | None
    prediction_ttl: float
    max_predictions: int
    duration_from_input: str | None
