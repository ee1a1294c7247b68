"""The anonymous homepage protocol: ``POST /api/prediction`` and ``GET /api/poll?id=``."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import JsonValue

from .._models import PredictionSnapshot
from .._responses import decode_model
from ..catalog import ModelSpec, resolve
from ..errors import UnsupportedFeatureError
from . import Backend

__all__ = ["DEFAULT_BASE_URL", "HomepageProtocol"]

DEFAULT_BASE_URL = "https://homepage.replicate.com"

# The home page's own demo sends these; the endpoint is meant for requests from replicate.com.
BROWSER_HEADERS = {"Origin": "https://replicate.com", "Referer": "https://replicate.com/"}


class HomepageProtocol:
    """Builds homepage requests against `base_url` with `headers` and reads its answers."""

    name: Backend = "homepage"
    can_hold = False

    def __init__(self, base_url: str, headers: httpx.Headers) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = httpx.Headers(BROWSER_HEADERS)
        self._headers.update(headers)

    def model_spec(self, name: str, version: str | None) -> ModelSpec:
        # The endpoint needs a version for every model: the catalog pins them.
        return resolve(name, version=version)

    def create_request(
        self, spec: ModelSpec, input: Mapping[str, object], *, hold: int | None = None
    ) -> httpx.Request:
        body = {"model": spec.name, "version": spec.version, "input": dict(input)}
        return httpx.Request(
            "POST", f"{self._base_url}/api/prediction", headers=self._headers, json=body
        )

    def get_request(self, prediction_id: str) -> httpx.Request:
        return httpx.Request(
            "GET",
            f"{self._base_url}/api/poll",
            params={"id": prediction_id},
            headers=self._headers,
        )

    def cancel_request(self, prediction_id: str) -> httpx.Request:
        raise UnsupportedFeatureError(
            "The homepage backend cannot cancel predictions. Cancel needs the official API: "
            "Client(api_token=...) or REPLICATE_API_TOKEN."
        )

    def stream_request(self, prediction: PredictionSnapshot) -> httpx.Request | None:
        return None  # text is streamed by polling

    def download_request(self, url: str) -> httpx.Request:
        # Output URLs may be relative to the server that made them.
        absolute = httpx.URL(f"{self._base_url}/").join(url)
        return httpx.Request("GET", absolute, headers={"User-Agent": self._headers["User-Agent"]})

    def read_created(self, response: httpx.Response, spec: ModelSpec) -> PredictionSnapshot:
        # The create answer may hold only the id: fill in what we sent.
        defaults: dict[str, JsonValue] = {"model": spec.name, "version": spec.version}
        return decode_model(response, PredictionSnapshot, defaults)

    def read_prediction(self, response: httpx.Response) -> PredictionSnapshot:
        return decode_model(response, PredictionSnapshot, {})
