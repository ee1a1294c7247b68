"""Sans-I/O wire protocols: how each backend builds requests and reads responses.

The lifecycle talks to a backend only through `WireProtocol`; adding a backend means adding a
module here, not touching the clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, TypeAlias, get_args

import httpx

from .._backends import BackendName
from .._file_inputs import InputFile
from .._models import PredictionSnapshot
from .._shorten import MAX_QUOTED
from ..catalog import MODEL_NAME, ModelSpec
from .sse import ServerSentEvent

__all__ = [
    "WEBHOOK_EVENTS",
    "CreateOptions",
    "Deployment",
    "StreamChunk",
    "StreamEnd",
    "StreamItem",
    "Target",
    "WebhookEvent",
    "WireProtocol",
]

WebhookEvent = Literal["start", "output", "logs", "completed"]
"""An event a webhook can be sent for."""
WEBHOOK_EVENTS: frozenset[str] = frozenset(get_args(WebhookEvent))
_MIN_CANCEL_AFTER = 5.0
"""The shortest ``Cancel-After`` the official API accepts, in seconds."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment to run, by its ``owner/name``.

    Raises:
        ValueError: `name` is not an ``owner/name``.
    """

    name: str

    def __post_init__(self) -> None:
        if not MODEL_NAME.fullmatch(self.name):
            raise ValueError(f"deployment must be an 'owner/name', not {self.name[:MAX_QUOTED]!r}")


Target = ModelSpec | Deployment
"""What a create runs: a model (a version of it), or a deployment."""


@dataclass(frozen=True, slots=True)
class CreateOptions:
    """What a create may send besides its target and input (the official API only).

    Raises:
        ValueError: an option is not one the API accepts.
    """

    webhook: str | None = None
    webhook_events_filter: frozenset[WebhookEvent] | None = None
    cancel_after: float | None = None

    def __post_init__(self) -> None:
        if self.webhook is not None and not self.webhook.startswith(("https://", "http://")):
            raise ValueError(f"webhook must be an http(s) URL, not {self.webhook[:MAX_QUOTED]!r}")
        if self.webhook_events_filter is not None:
            if unknown := sorted(self.webhook_events_filter - WEBHOOK_EVENTS):
                raise ValueError(
                    f"webhook_events_filter takes {', '.join(sorted(WEBHOOK_EVENTS))}; "
                    f"not {', '.join(unknown)}"
                )
            if self.webhook is None:
                raise ValueError("webhook_events_filter needs a webhook")
        if self.cancel_after is not None and not (
            _MIN_CANCEL_AFTER <= self.cancel_after < float("inf")
        ):
            raise ValueError(
                f"cancel_after must be {_MIN_CANCEL_AFTER:g} seconds or more, the API's minimum, "
                f"not {self.cancel_after}"
            )

    def __bool__(self) -> bool:
        return self != _NO_OPTIONS


_NO_OPTIONS = CreateOptions()


class StreamChunk(NamedTuple):
    """Text a prediction's event stream sent: output, or with `log`, a piece of its logs."""

    # A tuple, not a frozen dataclass: one is made per token, and it builds in two thirds the time.
    text: str
    log: bool = False


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The event stream says the prediction has ended: a read of it gives its final state."""


StreamItem: TypeAlias = StreamChunk | StreamEnd | None
"""What one event of a prediction's stream means to the SDK; ``None``: nothing it uses."""


class WireProtocol(Protocol):
    """What the lifecycle needs from a backend. No method performs I/O."""

    @property
    def name(self) -> BackendName:
        """Which backend this is."""
        ...

    @property
    def max_hold(self) -> int:
        """How long a create may wait for the prediction to finish, in seconds; 0: it cannot."""
        ...

    @property
    def can_upload(self) -> bool:
        """Whether files in an input can be uploaded (`upload_request`); if not, they go inline."""
        ...

    def model_spec(self, name: str, version: str | None) -> ModelSpec:
        """The model to run for a name or alias, as far as this backend can run it.

        Raises:
            UnknownModelError: this backend cannot run that model as given.
        """
        ...

    def create_request(
        self,
        target: Target,
        input: Mapping[str, object],
        *,
        hold: int | None = None,
        options: CreateOptions = CreateOptions(),
    ) -> httpx.Request:
        """The request that starts a prediction; with `hold`, one that waits that many seconds.

        Raises:
            UnsupportedFeatureError: the backend cannot run a deployment or send `options`.
        """
        ...

    def get_request(self, prediction_id: str) -> httpx.Request:
        """The request that reads a prediction's current state."""
        ...

    def cancel_request(self, prediction_id: str) -> httpx.Request:
        """The request that cancels a prediction.

        Raises:
            UnsupportedFeatureError: the backend cannot cancel.
        """
        ...

    def list_request(self, cursor: str | None) -> httpx.Request:
        """The request for the first page of the account's predictions, or the page at `cursor`.

        Raises:
            UnsupportedFeatureError: the backend cannot list predictions.
            ValueError: `cursor`, a URL the server sent, is not on the API's own origin.
        """
        ...

    def stream_request(self, prediction: PredictionSnapshot) -> httpx.Request | None:
        """The request that opens the prediction's event stream, or ``None`` if it has none."""
        ...

    def read_event(self, event: ServerSentEvent) -> StreamItem:
        """What `event`, from the stream `stream_request` opens, says: text, the end, or nothing."""
        ...

    def model_request(self, name: str) -> httpx.Request:
        """The request that reads a model, by its checked ``owner/name``, with its latest version.

        Raises:
            UnsupportedFeatureError: the backend cannot read models.
        """
        ...

    def version_request(self, name: str, version: str) -> httpx.Request:
        """The request that reads one version of a model, by its checked ``owner/name``.

        Raises:
            UnsupportedFeatureError: the backend cannot read models.
        """
        ...

    def webhook_secret_request(self) -> httpx.Request:
        """The request that reads the signing secret of the account's default webhook.

        Raises:
            UnsupportedFeatureError: the backend has no webhooks.
        """
        ...

    def download_request(self, url: str) -> httpx.Request:
        """The request that fetches an output file, without credentials.

        Raises:
            ValueError: `url` is not an http(s) URL, absolute or relative to the server.
        """
        ...

    def upload_request(self, file: InputFile) -> httpx.Request:
        """The request that uploads a file of an input, for its URL to take the file's place.

        Raises:
            UnsupportedFeatureError: the backend takes files only inline (`can_upload`).
        """
        ...

    def trusts(self, url: httpx.URL) -> bool:
        """Whether a request to `url` may carry this backend's credentials."""
        ...

    def read_created(self, response: httpx.Response, target: Target) -> PredictionSnapshot:
        """Decode the answer to `create_request`."""
        ...

    def read_prediction(self, response: httpx.Response) -> PredictionSnapshot:
        """Decode the answer to `get_request` or `cancel_request`."""
        ...

    def read_webhook_secret(self, response: httpx.Response) -> str:
        """Decode the answer to `webhook_secret_request`: a ``whsec_...`` key."""
        ...

    def read_upload(self, response: httpx.Response) -> str:
        """Decode the answer to `upload_request`: the file's http(s) URL, to use as an input.

        Raises:
            ResponseValidationError: the answer holds no such URL.
        """
        ...
