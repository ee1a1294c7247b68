"""The anonymous homepage protocol: ``POST /api/prediction`` and ``GET /api/poll?id=``."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import httpx

from .._backends import BackendName
from .._file_inputs import InputFile
from .._models import PredictionSnapshot
from .._untrusted import Trust
from ..catalog import ModelSpec, resolve
from ..errors import UnsupportedFeatureError
from . import CreateOptions, Deployment, StreamItem, Target
from ._base import BaseProtocol
from ._request import PredictionRequest
from .sse import ServerSentEvent

__all__ = ["DEFAULT_BASE_URL", "HomepageProtocol"]

DEFAULT_BASE_URL = "https://homepage.replicate.com"

# The home page's own demo sends these; the endpoint is meant for requests from replicate.com.
BROWSER_HEADERS = {"Origin": "https://replicate.com", "Referer": "https://replicate.com/"}

_NO_MODELS = (
    "The homepage backend cannot read models or their schemas: models.get(), and "
    "validate_input=True for a model outside the catalog, need the official API: "
    "Client(api_token=...) or REPLICATE_API_TOKEN."
)


class HomepageProtocol(BaseProtocol):
    """Builds homepage requests against `base_url` with `headers` and reads its answers."""

    name: BackendName = "homepage"
    max_hold = 0
    can_upload = False  # the endpoint takes JSON only: files go inline, as data: URIs

    def __init__(self, base_url: str, headers: httpx.Headers) -> None:
        merged = httpx.Headers(BROWSER_HEADERS)
        merged.update(headers)
        # Anonymous: no credentials to confine beyond the server's own origin.
        super().__init__(base_url, merged, Trust.of(base_url, ()))

    def model_spec(self, name: str, version: str | None) -> ModelSpec:
        # The endpoint needs a version for every model: the catalog pins them.
        return resolve(name, version=version)

    def create_request(
        self,
        target: Target,
        input: Mapping[str, object],
        *,
        hold: int | None = None,
        options: CreateOptions = CreateOptions(),  # noqa: B008 (immutable)
    ) -> httpx.Request:
        if isinstance(target, Deployment) or options:
            raise UnsupportedFeatureError(
                "The homepage backend runs catalog models only: deployments, webhooks and "
                "cancel_after need the official API: Client(api_token=...) or "
                "REPLICATE_API_TOKEN."
            )
        body = PredictionRequest.body(input, model=target.name, version=target.version)
        return self._to_server("POST", f"{self._base_url}/api/prediction", json=body)

    def get_request(self, prediction_id: str) -> httpx.Request:
        return self._to_server(
            "GET", f"{self._base_url}/api/poll?id={quote(prediction_id, safe='')}"
        )

    def cancel_request(self, prediction_id: str) -> httpx.Request:
        raise UnsupportedFeatureError(
            "The homepage backend cannot cancel predictions. Cancel needs the official API: "
            "Client(api_token=...) or REPLICATE_API_TOKEN."
        )

    def list_request(self, cursor: str | None) -> httpx.Request:
        raise UnsupportedFeatureError(
            "The homepage backend cannot list predictions. Listing needs the official API: "
            "Client(api_token=...) or REPLICATE_API_TOKEN."
        )

    def upload_request(self, file: InputFile) -> httpx.Request:
        raise UnsupportedFeatureError(
            "The homepage backend cannot upload files; they are sent inline as data: URIs."
        )

    def stream_request(self, prediction: PredictionSnapshot) -> httpx.Request | None:
        return None  # text is streamed by polling

    def read_event(self, event: ServerSentEvent) -> StreamItem:
        return None  # there is no stream (`stream_request`) for an event to come from

    def model_request(self, name: str) -> httpx.Request:
        raise UnsupportedFeatureError(_NO_MODELS)

    def version_request(self, name: str, version: str) -> httpx.Request:
        raise UnsupportedFeatureError(_NO_MODELS)

    def webhook_secret_request(self) -> httpx.Request:
        raise UnsupportedFeatureError(
            "The homepage backend has no webhooks, so no webhook secret. Webhooks need the "
            "official API: Client(api_token=...) or REPLICATE_API_TOKEN."
        )
