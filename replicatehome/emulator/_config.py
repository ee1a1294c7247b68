"""The emulator's configuration: timings, outputs, models, API tokens, secrets and faults."""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, TypedDict

from ..catalog import MODELS, ModelSpec
from ._faults import Faults

__all__ = ["MAX_IMAGES", "MAX_INPUT_DURATION", "ConfigOptions", "EmulatorConfig"]

MAX_IMAGES: Final = 10
"""The most images a prediction makes: the most `EmulatorConfig.image_count` and a model
outside the catalog's ``num_outputs`` allow."""

MAX_INPUT_DURATION: Final = 86_400.0
"""The longest duration an input may ask for with `EmulatorConfig.duration_from_input`."""

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


def _new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _new_files_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """How the emulator behaves. Every field has a default suited to demos.

    Attributes:
        duration: Seconds a prediction spends ``processing``; tests use e.g. ``0.05``.
        starting: Seconds a prediction spends ``starting`` before that.
        image_count: Images per image prediction, unless the input asks for ``num_outputs``.
        image_size: Width and height of the PNGs of models outside the catalog, in pixels; a
            catalog model's input decides the size of its images.
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
        deployments: Deployment ``owner/name`` to the ``owner/name`` of the model it runs, for
            ``POST /v1/deployments/{owner}/{name}/predictions``. ``None`` deploys every model
            under its own name.
        webhook_secret: The ``whsec_...`` secret webhook deliveries are signed with, and that
            ``GET /v1/webhooks/default/secret`` tells (default: a new random one).
        webhook_retry_delays: Seconds to wait before each retry of a webhook delivery that
            failed; their count is the number of retries.
        files_secret: The Files API signing secret: ``GET /v1/files/{id}/download`` needs a
            base64 HMAC-SHA256 of ``"{owner} {id} {expiry}"`` keyed with it (default: random).
        max_upload_bytes: The largest file ``POST /v1/files`` accepts; larger ones get a 413.
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
    # Not hashed: a mapping cannot be, and the models decide a config's identity well enough.
    deployments: Mapping[str, str] | None = field(default=None, hash=False)
    webhook_secret: str = field(default_factory=_new_webhook_secret, repr=False)
    webhook_retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0)
    files_secret: str = field(default_factory=_new_files_secret, repr=False)
    max_upload_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.duration < 0 or self.starting < 0:
            raise ValueError("duration and starting must not be negative")
        if not 1 <= self.image_count <= MAX_IMAGES:
            raise ValueError(
                f"image_count must be between 1 and {MAX_IMAGES}, got {self.image_count}"
            )
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
        self._check_deployments()
        self._check_webhooks()
        if not self.files_secret:
            raise ValueError("files_secret must not be empty")
        if not 1 <= self.max_upload_bytes <= 1024**3:
            raise ValueError(
                f"max_upload_bytes must be from 1 to 1 GiB, got {self.max_upload_bytes}"
            )

    def _check_deployments(self) -> None:
        names = {spec.name for spec in self.models}
        for deployment, model in (self.deployments or {}).items():
            if not _NAME.fullmatch(deployment):
                raise ValueError(f"deployment names are owner/name, got {deployment!r}")
            if model not in names:
                raise ValueError(f"deployment {deployment!r} runs unknown model {model!r}")

    def _check_webhooks(self) -> None:
        key = self.webhook_secret.removeprefix("whsec_")
        try:
            valid = key != self.webhook_secret and bool(base64.b64decode(key, validate=True))
        except binascii.Error:
            valid = False
        if not valid:
            raise ValueError("webhook_secret must be 'whsec_' followed by base64")
        delays = self.webhook_retry_delays
        if len(delays) > 10 or not all(0 <= d <= 60 and math.isfinite(d) for d in delays):
            raise ValueError("webhook_retry_delays must be at most 10 delays of 0 to 60 seconds")


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
    deployments: Mapping[str, str] | None
    webhook_secret: str
    webhook_retry_delays: tuple[float, ...]
    files_secret: str
    max_upload_bytes: int
