"""Verify webhook deliveries signed the way Replicate signs them (the Standard Webhooks scheme).

A delivery carries three headers: ``webhook-id``, ``webhook-timestamp`` (unix seconds) and
``webhook-signature``, a space-separated list of ``v1,<base64 HMAC-SHA256>`` of
``"{id}.{timestamp}.{body}"``, keyed by the base64-decoded part of a ``whsec_...`` secret
(``client.webhooks.default_secret()``).

Examples:
    >>> from replicatehome.webhooks import verify
    >>> prediction = verify(body, request.headers, secret)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hmac
import math
import re
import time
from collections.abc import Iterable
from typing import Final, Protocol

from pydantic import ValidationError

from ._config import DEFAULT_LIMITS
from ._models import PredictionSnapshot
from ._signing import signature, signing_key
from .errors import WebhookVerificationError

__all__ = ["DEFAULT_TOLERANCE", "HeadersLike", "verify"]

DEFAULT_TOLERANCE: Final = 300
"""How far a delivery's timestamp may be from now, either way, in seconds: replays older than
this are refused, as the Standard Webhooks libraries do."""

_NAMES: Final = ("webhook-id", "webhook-timestamp", "webhook-signature")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,15}")
"""Whole unix seconds, as signed: ``int()`` alone would also take ``+1``, ``1_0``, `` 1`` and
digits of other scripts, which the sender's signature does not cover as a number."""

_now = time.time
"""The wall clock timestamps are checked against; tests replace it."""


class HeadersLike(Protocol):
    """What `verify` needs of a request's headers: their items.

    Every headers object fits: a `dict`, `httpx.Headers`, Starlette's, Django's
    ``request.headers``, Werkzeug's (Flask). Names are matched whatever their case.
    """

    def items(self) -> Iterable[tuple[str, str]]:
        """The headers as (name, value) pairs."""
        ...


def verify(
    body: bytes | str,
    headers: HeadersLike,
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_body_bytes: int = DEFAULT_LIMITS.response,
) -> PredictionSnapshot:
    """Check that a webhook delivery comes from Replicate, and return the prediction it holds.

    Args:
        body: the request's body exactly as received; prefer the raw bytes to a decoded str.
        headers: the request's headers, any mapping, names in any case.
        secret: the signing secret, ``whsec_...`` (see ``client.webhooks.default_secret()``).
        tolerance: how far, in seconds, the delivery's timestamp may be from now, either way.
        max_body_bytes: the largest body accepted (16 MiB, as ``max_response_bytes``).

    Returns:
        The prediction, parsed and checked as a poll's answer is.

    Raises:
        WebhookVerificationError: the signature does not match any ``v1`` signature in the
            headers; the timestamp is too old or in the future; a header is missing or
            malformed; the secret is malformed; the body is too large or not a prediction.
        TypeError, ValueError: an argument of the wrong type, or a negative `tolerance`.
    """
    if isinstance(body, str):
        try:
            content = body.encode()
        except UnicodeEncodeError:
            raise WebhookVerificationError(
                "The webhook body is a str that is not valid Unicode; pass the raw bytes."
            ) from None
    elif isinstance(body, bytes):
        content = body
    else:
        raise TypeError(f"body must be bytes or str, not {type(body).__name__}")
    if not tolerance >= 0:  # NaN too
        raise ValueError(f"tolerance must be 0 or more seconds, not {tolerance}")
    key = signing_key(secret)
    message_id, timestamp, signatures = _read_headers(headers)
    _check_time(int(timestamp), tolerance)
    if len(content) > max_body_bytes:
        raise WebhookVerificationError(
            f"The webhook body is {len(content):,} bytes, more than max_body_bytes "
            f"({max_body_bytes:,}); raise it if the delivery is expected."
        )
    _check_signature(signature(key, message_id, timestamp, content), signatures)
    try:
        return PredictionSnapshot.model_validate_json(content)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise WebhookVerificationError(
            f"The webhook body is signed but is not a prediction: {error['msg']}"
            + (f" (at {where})" if where else "")
        ) from None


def _read_headers(headers: HeadersLike) -> tuple[str, str, list[str]]:
    """The id, the timestamp and the signatures of a delivery; malformed ones refused."""
    found: dict[str, list[object]] = {name: [] for name in _NAMES}
    for name, value in headers.items():
        if isinstance(name, str) and (values := found.get(name.lower())) is not None:
            values.append(value)
    missing = [name for name, values in found.items() if not values or values == [""]]
    if missing:
        raise WebhookVerificationError(
            f"The delivery has no {', '.join(missing)} header{'s' if len(missing) > 1 else ''}: "
            "it is not a signed webhook."
        )
    texts: list[str] = []
    for name, values in found.items():
        if len(values) > 1:
            raise WebhookVerificationError(f"The {name} header is given more than once.")
        if not isinstance(values[0], str):
            raise WebhookVerificationError(f"The {name} header is not text.")
        texts.append(values[0])
    message_id, timestamp, signatures = texts
    if not _TIMESTAMP.fullmatch(timestamp):
        raise WebhookVerificationError(
            f"The webhook-timestamp header is not whole unix seconds: {timestamp[:40]!r}."
        )
    return message_id, timestamp, signatures.split()


def _check_time(timestamp: int, tolerance: float) -> None:
    age = _now() - timestamp
    if age > tolerance:
        raise WebhookVerificationError(
            f"The webhook timestamp is {math.floor(age):,} s old, more than the tolerance of "
            f"{tolerance:g} s: a late or replayed delivery."
        )
    if -age > tolerance:
        raise WebhookVerificationError(
            f"The webhook timestamp is {math.ceil(-age):,} s in the future, more than the "
            f"tolerance of {tolerance:g} s: check this machine's clock."
        )


def _check_signature(expected: bytes, signatures: list[str]) -> None:
    """Pass if one ``v1`` signature is `expected`; other versions, such as ``v1a``, are skipped."""
    seen = False
    for entry in signatures:
        version, comma, encoded = entry.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except ValueError:  # binascii.Error, or a character that is not ASCII
            continue
        seen = True
        if hmac.compare_digest(candidate, expected):
            return
    if not seen:
        raise WebhookVerificationError("The webhook-signature header holds no v1 signature.")
    raise WebhookVerificationError(
        "No v1 signature in the webhook-signature header matches: the body, the headers or "
        "the secret differ from those of the delivery Replicate signed."
    )
