"""The body of a create request, one schema for both protocols."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict

from . import WebhookEvent

__all__ = ["PredictionRequest"]


class PredictionRequest(BaseModel):
    """What a create sends as JSON: the homepage's fields and the official API's, in one model.

    The homepage takes `model`, `version` and `input`; the official API takes `version` (on
    ``/v1/predictions``), `input`, `webhook` and `webhook_events_filter`, and accepts `stream`,
    which it no longer needs (every prediction of a model that streams has ``urls.stream``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None
    """The model's full ``owner/name`` (homepage)."""
    version: str | None = None
    """The version hash to run."""
    # `object`, not JsonValue: files are URLs or data URIs by now, and the values are encoded
    # as json.dumps encodes them (see BaseProtocol._to_server).
    input: dict[str, object]
    """The model's input."""
    webhook: str | None = None
    """The URL the official API calls as the prediction runs."""
    webhook_events_filter: list[WebhookEvent] | None = None
    """Which events call the webhook."""
    stream: bool | None = None
    """Deprecated by the official API; never sent by this SDK."""

    @classmethod
    def body(
        cls,
        input: Mapping[str, object],
        *,
        model: str | None = None,
        version: str | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
    ) -> dict[str, object]:
        """The JSON-ready body, without the fields left out.

        Built, not validated: the arguments are typed and checked already (`CreateOptions`),
        and a validation round-trip on every create would cost CPU the benchmarks count.
        """
        request = cls.model_construct(
            model=model,
            version=version,
            input=dict(input),
            webhook=webhook,
            webhook_events_filter=(
                None if webhook_events_filter is None else sorted(webhook_events_filter)
            ),
        )
        return request.model_dump(exclude_none=True)
