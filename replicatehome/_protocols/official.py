"""Replicate's official API: ``/v1`` routes, bearer token, ``Prefer: wait``, SSE, cancel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import quote

import httpx

from .._file_inputs import InputFile
from .._logs import logger
from .._models import PredictionSnapshot
from .._untrusted import Trust, parse_url
from ..catalog import ModelSpec, resolve
from . import Backend
from ._base import BaseProtocol

__all__ = ["DEFAULT_OFFICIAL_BASE_URL", "OfficialProtocol"]

DEFAULT_OFFICIAL_BASE_URL = "https://api.replicate.com"


class OfficialProtocol(BaseProtocol):
    """Builds ``/v1`` requests against `base_url`, authenticated with `token`."""

    name: Backend = "official"
    max_hold = 60  # the most Prefer: wait accepts
    can_upload = True

    def __init__(self, base_url: str, headers: httpx.Headers, token: str, trust: Trust) -> None:
        authorized = httpx.Headers(headers)
        authorized.setdefault("Authorization", f"Bearer {token}")
        super().__init__(base_url, authorized, trust)

    def model_spec(self, name: str, version: str | None) -> ModelSpec:
        # Any owner/name runs here. Without an explicit version, the model's own route runs its
        # latest version rather than the catalog's pinned one.
        spec = resolve(name, version=version, allow_unversioned=True)
        explicit = version is not None or ":" in name
        return spec if explicit else replace(spec, version=None)

    def create_request(
        self, spec: ModelSpec, input: Mapping[str, object], *, hold: int | None = None
    ) -> httpx.Request:
        headers = None
        if hold is not None:
            headers = httpx.Headers(self._server_headers)
            headers["Prefer"] = f"wait={hold}"
        if spec.version is None:
            url = f"{self._base_url}/v1/models/{spec.owner}/{spec.short_name}/predictions"
            body: dict[str, object] = {"input": dict(input)}
        else:
            url = f"{self._base_url}/v1/predictions"
            body = {"version": spec.version, "input": dict(input)}
        return self._to_server("POST", url, json=body, headers=headers)

    def get_request(self, prediction_id: str) -> httpx.Request:
        return self._to_server(
            "GET", f"{self._base_url}/v1/predictions/{quote(prediction_id, safe='')}"
        )

    def cancel_request(self, prediction_id: str) -> httpx.Request:
        url = f"{self._base_url}/v1/predictions/{quote(prediction_id, safe='')}/cancel"
        return self._to_server("POST", url)

    def upload_request(self, file: InputFile) -> httpx.Request:
        # As the Files API documents it: one multipart part, `content`, named and typed.
        return httpx.Request(
            "POST",
            f"{self._base_url}/v1/files",
            headers=self._server_headers,
            files={"content": (file.filename, file.data, file.content_type)},
        )

    def stream_request(self, prediction: PredictionSnapshot) -> httpx.Request | None:
        text = prediction.urls.stream if prediction.urls is not None else None
        if not text:
            return None
        try:
            url = parse_url(text)
        except ValueError as exc:
            logger.warning("Not following the event stream of %s: %s", prediction.id, exc)
            return None
        if not self.trusts(url):
            # The stream request carries the token: only to hosts the client trusts.
            logger.warning(
                "Not following the event stream of %s: %s is not a trusted host for the API "
                "token (see the client's trusted_hosts); polling instead.",
                prediction.id,
                f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}",
            )
            return None
        headers = httpx.Headers(self._headers)
        headers.update({"Accept": "text/event-stream", "Cache-Control": "no-store"})
        return httpx.Request("GET", url, headers=headers)
