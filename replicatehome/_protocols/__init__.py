"""Sans-I/O wire protocols: how each backend builds requests and reads responses.

The lifecycle talks to a backend only through `WireProtocol`; adding a backend means adding a
module here, not touching the clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

import httpx

from .._file_inputs import InputFile
from .._models import PredictionSnapshot
from ..catalog import ModelSpec

__all__ = ["Backend", "WireProtocol"]

Backend = Literal["homepage", "official"]
"""The two protocols: the anonymous homepage API, and Replicate's official ``/v1`` API."""


class WireProtocol(Protocol):
    """What the lifecycle needs from a backend. No method performs I/O."""

    @property
    def name(self) -> Backend:
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
        self, spec: ModelSpec, input: Mapping[str, object], *, hold: int | None = None
    ) -> httpx.Request:
        """The request that starts a prediction; with `hold`, one that waits that many seconds."""
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

    def stream_request(self, prediction: PredictionSnapshot) -> httpx.Request | None:
        """The request that opens the prediction's event stream, or ``None`` if it has none."""
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

    def read_created(self, response: httpx.Response, spec: ModelSpec) -> PredictionSnapshot:
        """Decode the answer to `create_request`."""
        ...

    def read_prediction(self, response: httpx.Response) -> PredictionSnapshot:
        """Decode the answer to `get_request` or `cancel_request`."""
        ...

    def read_upload(self, response: httpx.Response) -> str:
        """Decode the answer to `upload_request`: the file's http(s) URL, to use as an input.

        Raises:
            ResponseValidationError: the answer holds no such URL.
        """
        ...
