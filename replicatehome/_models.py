"""Pydantic schemas of what the server sends: the prediction object (docs/protocol.md §3), and
the model object of the official API."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, cast

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, field_validator

from ._input_schema import check_against, input_schema_of
from ._untrusted import PREDICTION_ID_PATTERN

__all__ = [
    "Model",
    "ModelVersion",
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


class ModelVersion(_Lenient):
    """One version of a model (official API), with the OpenAPI schema of its input and output."""

    id: str
    """The version's id: a hash to pin it with (``owner/name:<id>`` or ``version=``)."""
    created_at: datetime | None = None
    """When it was pushed."""
    cog_version: str | None = None
    """The version of Cog it was built with."""
    openapi_schema: dict[str, JsonValue] | None = Field(None, repr=False)
    """Its OpenAPI schema: ``components.schemas.Input`` describes the input."""

    @property
    def input_schema(self) -> dict[str, JsonValue] | None:
        """The JSON Schema of its input (``components.schemas.Input``), if it has one."""
        return cast("dict[str, JsonValue] | None", input_schema_of(self.openapi_schema))


class Model(_Lenient):
    """A model, as ``client.models.get`` reads it (official API). Immutable; unknown fields kept.

    The server sends it: `check_input` is as good as its schema (see docs/any-model.md).
    """

    owner: str
    """Who owns it: the part of its name before the slash."""
    name: str
    """Its name, without the owner."""
    description: str | None = None
    """What it does, in the owner's words."""
    visibility: str | None = None
    """``"public"`` or ``"private"``."""
    run_count: int | None = None
    """How many times it has run."""
    url: str | None = None
    """Its page on the web."""
    latest_version: ModelVersion | None = None
    """Its most recently pushed version; ``None`` for a model with none."""

    @property
    def input_schema(self) -> dict[str, JsonValue] | None:
        """The JSON Schema of the latest version's input, if it has one."""
        return None if self.latest_version is None else self.latest_version.input_schema

    def check_input(self, input: Mapping[str, object]) -> None:
        """Check `input` against the latest version's input schema, as ``validate_input=True``.

        Checked: types, allowed values, bounds, required and unknown names; a ``uri`` input
        takes a URL, a path, bytes or a binary file. What the schema says beyond that, or
        cannot say clearly, passes (the server checks again).

        Raises:
            InputValidationError: every problem of `input`, each with what is allowed.
        """
        openapi = None if self.latest_version is None else self.latest_version.openapi_schema
        check_against(openapi, f"{self.owner}/{self.name}", input)
