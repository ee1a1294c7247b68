"""What both wire protocols do alike: where they send, output downloads, reading predictions."""

from __future__ import annotations

import functools
from json import dumps

import httpx
from pydantic import BaseModel, JsonValue

from .._models import PredictionSnapshot, WebhookSecret
from .._responses import decode_model
from .._shorten import shorten
from .._signing import signing_key
from .._untrusted import Trust, parse_url
from ..catalog import ModelSpec
from ..errors import ResponseValidationError, WebhookVerificationError
from . import Target

__all__ = ["BaseProtocol"]

_NO_BODY = httpx.ByteStream(b"")
_MAX_SECRET = 1024
"""The longest webhook secret accepted, in characters. Standard Webhooks keys are 24 to 64
bytes: under 100 characters as ``whsec_`` and base64."""


class _FileUrls(BaseModel):
    get: str


class _UploadedFile(BaseModel):
    """The part of a file object (``POST /v1/files``) the SDK uses; the rest is ignored."""

    urls: _FileUrls


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
        host = (b"Host", httpx.URL(base_url).netloc)
        self._server_headers = httpx.Headers([host, *headers.raw])

    def _to_server(
        self,
        method: str,
        url: str,
        *,
        json: object = None,
        headers: httpx.Headers | None = None,
    ) -> httpx.Request:
        """A request to `base_url`'s server, built as httpx builds one, minus its header rebuild.

        httpx adds ``Host`` and the body's headers by building every header of the request
        anew; here they come ready-made, so each request shares this protocol's headers: less
        CPU per request, and less memory for each of a thousand creates waiting their turn.
        """
        headers = self._server_headers if headers is None else headers
        stream = _NO_BODY
        if json is not None or method != "GET":
            # As httpx encodes json=: compact, UTF-8, and NaN refused.
            content = (
                b""
                if json is None
                else dumps(
                    json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
                ).encode()
            )
            headers = httpx.Headers(headers)
            headers["Content-Length"] = str(len(content))
            if json is not None:
                headers["Content-Type"] = "application/json"
            stream = httpx.ByteStream(content)
        request = httpx.Request(method, self._url(url), headers=headers, stream=stream)
        request.read()  # so that `.content` works, as on any request httpx builds
        return request

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

    def read_created(self, response: httpx.Response, target: Target) -> PredictionSnapshot:
        """Decode the answer to a create; what it leaves out is filled in from a model `target`."""
        defaults: dict[str, JsonValue] = (
            {"model": target.name, "version": target.version}
            if isinstance(target, ModelSpec)
            else {}
        )
        return decode_model(response, PredictionSnapshot, defaults)

    def read_prediction(self, response: httpx.Response) -> PredictionSnapshot:
        """Decode an answer holding a prediction."""
        return decode_model(response, PredictionSnapshot, {})

    def read_webhook_secret(self, response: httpx.Response) -> str:
        """Decode an answer holding a webhook secret: a ``whsec_...`` key that `verify` takes.

        The answer may hold the secret, even a malformed one: errors say what is wrong, and
        carry neither the answer nor its body.
        """
        try:
            key = decode_model(response, WebhookSecret, {}).key
        except ResponseValidationError:
            problem = "is not a JSON object with a 'key' string"
        else:
            if len(key) > _MAX_SECRET:
                problem = f"is {len(key):,} characters long, more than {_MAX_SECRET:,}"
            else:
                try:
                    signing_key(key)
                except WebhookVerificationError:
                    problem = "is not a whsec_ secret"
                else:
                    return key
        raise ResponseValidationError(
            f"The webhook secret answered by {shorten(response.request.url)} {problem}.",
            response=None,
            body="[redacted]",
        )

    def read_upload(self, response: httpx.Response) -> str:
        """Decode the answer to an upload: the file's http(s) URL, to use as an input.

        Raises:
            ResponseValidationError: the answer is not a file object with an http(s) ``urls.get``.
        """
        url = decode_model(response, _UploadedFile, {}).urls.get
        try:
            parse_url(url)
        except ValueError as exc:
            raise ResponseValidationError(
                f"The file uploaded to {shorten(response.request.url)} came back without a "
                f"usable URL: {exc}",
                response=response,
                body=url[:200],
            ) from exc
        return url
