"""Sans-I/O wire protocols: how each backend builds requests and reads responses.

The lifecycle talks to a backend only through `WireProtocol`; adding a backend means adding a
module here, not touching the clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import httpx

from .._models import PredictionSnapshot
from ..catalog import ModelSpec

__all__ = ["WireProtocol"]


class WireProtocol(Protocol):
    """What the lifecycle needs from a backend. No method performs I/O."""

    @property
    def name(self) -> str:
        """A short name for the backend, such as ``"homepage"``."""
        ...

    @property
    def accepts_unversioned_models(self) -> bool:
        """Whether a model outside the catalog may be run without a version."""
        ...

    def create_request(self, spec: ModelSpec, input: Mapping[str, object]) -> httpx.Request:
        """The request that starts a prediction."""
        ...

    def get_request(self, prediction_id: str) -> httpx.Request:
        """The request that reads a prediction's current state."""
        ...

    def download_request(self, url: str) -> httpx.Request:
        """The request that fetches an output file."""
        ...

    def read_created(self, response: httpx.Response, spec: ModelSpec) -> PredictionSnapshot:
        """Decode the answer to `create_request`."""
        ...

    def read_prediction(self, response: httpx.Response) -> PredictionSnapshot:
        """Decode the answer to `get_request`."""
        ...
