"""Replicate's official API: ``/v1`` routes, bearer token, ``Prefer: wait``, SSE, cancel."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import httpx

from .._backends import BackendName
from .._file_inputs import InputFile
from .._logs import logger
from .._models import PredictionSnapshot
from .._shorten import MAX_QUOTED
from .._untrusted import Trust, parse_url
from ..catalog import ModelSpec, resolve
from . import CreateOptions, Deployment, StreamChunk, StreamEnd, StreamItem, Target
from ._base import BaseProtocol
from ._request import PredictionRequest
from .sse import ServerSentEvent

__all__ = ["DEFAULT_OFFICIAL_BASE_URL", "OfficialProtocol"]

DEFAULT_OFFICIAL_BASE_URL = "https://api.replicate.com"
_END = StreamEnd()


def _path(name: str) -> str:
    # Checked already (`check_model_name`); quoted all the same, part by part.
    owner, _, short = name.partition("/")
    return f"{quote(owner, safe='')}/{quote(short, safe='')}"


class OfficialProtocol(BaseProtocol):
    """Builds ``/v1`` requests against `base_url`, authenticated with `token`."""

    name: BackendName = "official"
    max_hold = 60  # the most Prefer: wait accepts
    can_upload = True

    def __init__(self, base_url: str, headers: httpx.Headers, token: str, trust: Trust) -> None:
        authorized = httpx.Headers(headers)
        authorized.setdefault("Authorization", f"Bearer {token}")
        super().__init__(base_url, authorized, trust)

    def model_spec(self, name: str, version: str | None) -> ModelSpec:
        # Any owner/name runs here: catalog models by their pinned version, as the model route
        # serves official models only; another owner/name without a version by that route.
        return resolve(name, version=version, allow_unversioned=True)

    def create_request(
        self,
        target: Target,
        input: Mapping[str, object],
        *,
        hold: int | None = None,
        options: CreateOptions = CreateOptions(),  # noqa: B008 (immutable)
    ) -> httpx.Request:
        headers = None
        if hold is not None or options.cancel_after is not None:
            headers = httpx.Headers(self._server_headers)
            if hold is not None:
                headers["Prefer"] = f"wait={hold}"
            if options.cancel_after is not None:
                headers["Cancel-After"] = f"{options.cancel_after:g}s"
        version = None
        # Both names were checked as an owner/name (MODEL_NAME): one slash, nothing else a URL
        # path would read.
        if isinstance(target, Deployment):
            url = f"{self._base_url}/v1/deployments/{target.name}/predictions"
        elif target.version is None:
            url = f"{self._base_url}/v1/models/{target.name}/predictions"
        else:
            url = f"{self._base_url}/v1/predictions"
            version = target.version
        body = PredictionRequest.body(
            input,
            version=version,
            webhook=options.webhook,
            webhook_events_filter=options.webhook_events_filter,
        )
        return self._to_server("POST", url, json=body, headers=headers)

    def get_request(self, prediction_id: str) -> httpx.Request:
        return self._to_server(
            "GET", f"{self._base_url}/v1/predictions/{quote(prediction_id, safe='')}"
        )

    def cancel_request(self, prediction_id: str) -> httpx.Request:
        url = f"{self._base_url}/v1/predictions/{quote(prediction_id, safe='')}/cancel"
        return self._to_server("POST", url)

    def list_request(self, cursor: str | None) -> httpx.Request:
        if cursor is None:
            return self._to_server("GET", f"{self._base_url}/v1/predictions")
        # The cursor is the server's URL, and the request carries the token: same origin only.
        url = parse_url(cursor)
        base = httpx.URL(self._base_url)
        if (url.scheme, url.netloc) != (base.scheme, base.netloc):
            raise ValueError(f"the next page is on another origin: {cursor[:MAX_QUOTED]!r}")
        return self._to_server("GET", str(url))

    def model_request(self, name: str) -> httpx.Request:
        return self._to_server("GET", f"{self._base_url}/v1/models/{_path(name)}")

    def version_request(self, name: str, version: str) -> httpx.Request:
        url = f"{self._base_url}/v1/models/{_path(name)}/versions/{quote(version, safe='')}"
        return self._to_server("GET", url)

    def webhook_secret_request(self) -> httpx.Request:
        return self._to_server("GET", f"{self._base_url}/v1/webhooks/default/secret")

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

    def read_event(self, event: ServerSentEvent) -> StreamItem:
        # docs/protocol.md §6: output and logs carry text; done, or error, ends the stream.
        if event.event in ("done", "error"):
            return _END
        if event.event in ("output", "logs") and event.data:
            return StreamChunk(event.data, event.event == "logs")
        return None
