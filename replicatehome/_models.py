"""Pydantic schemas of what the server sends: the prediction object (docs/protocol.md §3)."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, field_validator

from ._untrusted import PREDICTION_ID_PATTERN

__all__ = [
    "PredictionMetrics",
    "PredictionPage",
    "PredictionSnapshot",
    "PredictionStatus",
    "PredictionUrls",
    "WebhookSecret",
]


class PredictionStatus(StrEnum):
    """Where a prediction is in its life. Members compare equal to the protocol's strings.

    A status the server invents later (``aborted`` has been seen) decodes to a member of its own
    rather than failing; it is not terminal, so waits go on until their deadline.
    """

    STARTING = "starting"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @classmethod
    def _missing_(cls, value: object) -> PredictionStatus | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member

    @property
    def is_terminal(self) -> bool:
        """Whether the prediction has finished: succeeded, failed or canceled."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {PredictionStatus.SUCCEEDED, PredictionStatus.FAILED, PredictionStatus.CANCELED}
)


class _Lenient(BaseModel):
    # Servers add fields over time: keep them (in `model_extra`) instead of rejecting the body.
    model_config = ConfigDict(extra="allow", frozen=True)


class PredictionUrls(_Lenient):
    """Links the server gives for a prediction."""

    get: str | None = None
    """The prediction's own URL, to read it again."""
    cancel: str | None = None
    """Where to ``POST`` to cancel it (official API)."""
    stream: str | None = None
    """Its Server-Sent Events, while it runs (official API, models that stream)."""
    web: str | None = None
    """Its page on the web."""


class PredictionMetrics(_Lenient):
    """Timings the server reports, in seconds."""

    predict_time: float | None = None
    """How long the model ran."""
    total_time: float | None = None
    """From creation to the end, queueing included."""


class PredictionSnapshot(_Lenient):
    """A prediction as the server last described it. Immutable; unknown fields are kept.

    Only `id` is guaranteed; a missing `status` means the server has only just accepted it.
    The id goes into the URLs of later requests, so one that could change their meaning (a
    slash, a dot, a control character, more than 100 characters) is refused.
    """

    id: Annotated[str, StringConstraints(pattern=PREDICTION_ID_PATTERN)]
    """The prediction's id."""
    status: PredictionStatus = PredictionStatus.STARTING
    """Where it is in its life; ``succeeded``, ``failed`` and ``canceled`` are final."""
    model: str | None = None
    """The model's ``owner/name``."""
    version: str | None = None
    """The version that runs."""
    input: dict[str, JsonValue] | None = None
    """The input, as the server took it."""
    output: JsonValue = None
    """The output so far: a list of tokens for a text model, of URLs for an image model."""
    error: str | None = None
    """Why it failed, as text (an error object is kept as its JSON)."""
    logs: str | None = None
    """What the model printed on its console."""
    created_at: datetime | None = None
    """When it was created."""
    started_at: datetime | None = None
    """When the model started running it."""
    completed_at: datetime | None = None
    """When it ended."""
    urls: PredictionUrls | None = None
    """Links to it."""
    metrics: PredictionMetrics | None = None
    """Its timings, once it has ended."""
    data_removed: bool | None = None
    """Whether the server has removed its input, output and logs (official API, after an hour)."""

    @field_validator("error", mode="before")
    @classmethod
    def _error_as_text(cls, value: object) -> object:
        # The homepage sends a string; other servers send objects. Keep both readable as text.
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value)


class PredictionPage(_Lenient):
    """One page of the account's predictions (official API), newest first, with cursor URLs."""

    results: list[PredictionSnapshot]
    next: str | None = None
    previous: str | None = None


class WebhookSecret(_Lenient):
    """The answer to ``GET /v1/webhooks/default/secret``. The key stays out of the repr."""

    key: str = Field(repr=False)
