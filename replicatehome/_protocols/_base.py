"""What both wire protocols do alike: where they send, output downloads, reading predictions."""

from __future__ import annotations

import functools

import httpx
from pydantic import JsonValue

from .._models import PredictionSnapshot
from .._responses import decode_model
from .._untrusted import Trust, parse_url
from ..catalog import ModelSpec

__all__ = ["BaseProtocol"]


class BaseProtocol:
    """A backend at `base_url` whose requests carry `headers`, answering prediction objects.

    Requests that carry credentials go only where `trust` allows.
    """

    def __init__(self, base_url: str, headers: httpx.Headers, trust: Trust) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = headers
        self._trust = trust
        # Parsing a URL is half the cost of building a request: each endpoint, and each
        # prediction's poll, is parsed once.
        self._url = functools.lru_cache(maxsize=256)(httpx.URL)

    def trusts(self, url: httpx.URL) -> bool:
        """Whether a request to `url` may carry this backend's credentials."""
        return self._trust.allows(url)

    def download_request(self, url: str) -> httpx.Request:
        """The request that fetches an output file.

        Raises:
            ValueError: `url` is not an http(s) URL, absolute or relative to the server.
        """
        # Outputs may be relative to the server, or on other hosts: send those only who we are,
        # never a token or a cookie.
        absolute = parse_url(url, base=httpx.URL(f"{self._base_url}/"))
        headers = {key: self._headers[key] for key in ("User-Agent", "Accept-Encoding")}
        return httpx.Request("GET", absolute, headers=headers)

    def read_created(self, response: httpx.Response, spec: ModelSpec) -> PredictionSnapshot:
        """Decode the answer to a create; what it leaves out is filled in from `spec`."""
        defaults: dict[str, JsonValue] = {"model": spec.name, "version": spec.version}
        return decode_model(response, PredictionSnapshot, defaults)

    def read_prediction(self, response: httpx.Response) -> PredictionSnapshot:
        """Decode an answer holding a prediction."""
        return decode_model(response, PredictionSnapshot, {})
