"""Reading responses: JSON whatever the content type says, and typed errors for 4xx/5xx."""

from __future__ import annotations

import json
from typing import TypeVar

import httpx
from pydantic import BaseModel, JsonValue, TypeAdapter, ValidationError

from ._shorten import MAX_EXPLANATION, shorten
from .errors import APIStatusError, ResponseValidationError, status_error_class

__all__ = ["decode_model", "error_for_status"]

M = TypeVar("M", bound=BaseModel)
_JSON: TypeAdapter[JsonValue] = TypeAdapter(JsonValue)
_MAX_REASON = 100
"""The most characters of a status line's reason phrase that go into an error message."""


def _text(response: httpx.Response) -> str:
    try:
        return response.text
    except Exception:
        # The charset is the server's choice, and some codecs it can name (base64, rot13, idna,
        # utf-16 without a BOM) raise on any body, with any exception: fall back to UTF-8.
        return response.content.decode("utf-8", errors="replace")


def _body(response: httpx.Response) -> JsonValue | str:
    # Servers send JSON as text/plain, and gateways send HTML: look at the bytes, not the header.
    try:
        return _JSON.validate_json(response.content)
    except ValidationError:
        return _text(response)


def _detail(body: JsonValue | str) -> str | None:
    if isinstance(body, dict):
        for key in ("detail", "error", "title", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                # A server can explain at any length; the message must stay readable.
                if len(value) > MAX_EXPLANATION:
                    return f"{value[:MAX_EXPLANATION]}... ({len(value):,} characters)"
                return value
        return json.dumps(body)[:300]
    if isinstance(body, str) and body.lstrip()[:1] == "<":
        return "the server sent an HTML error page"
    return str(body)[:300] or None


def error_for_status(response: httpx.Response) -> APIStatusError:
    """The typed error for a 4xx or 5xx response, with the server's own explanation."""
    body = _body(response)
    request = response.request
    message = f"{request.method} {shorten(request.url)} returned {response.status_code}"
    if response.reason_phrase:
        # Not always the standard phrase: the server sends its own on the status line.
        message += f" {response.reason_phrase[:_MAX_REASON]}"
    detail = _detail(body)
    if detail:
        message += f": {detail}"
    return status_error_class(response.status_code)(message, response=response, body=body)


def decode_model(response: httpx.Response, model: type[M], defaults: dict[str, JsonValue]) -> M:
    """Decode a 2xx JSON body into `model`, filling fields the body leaves out from `defaults`.

    Raises:
        ResponseValidationError: the body is not JSON, or not the expected shape.
    """
    body = _body(response)
    if not isinstance(body, dict):
        raise ResponseValidationError(
            f"Expected a JSON object from {shorten(response.request.url)}, got: {shorten(body)!r}",
            response=response,
            body=body,
        )
    try:
        filled = {key: value for key, value in defaults.items() if body.get(key) is None}
        return model.model_validate({**body, **filled})
    except ValidationError as exc:
        raise ResponseValidationError(
            f"Unexpected response from {shorten(response.request.url)}: {exc.errors()[0]['msg']}",
            response=response,
            body=body,
        ) from exc
