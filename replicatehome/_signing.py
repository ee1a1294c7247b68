"""The Standard Webhooks signature scheme, as Replicate signs webhook deliveries.

A ``whsec_...`` secret holds an HMAC key in base64. A delivery's ``v1`` signature is the
base64 of the HMAC-SHA256 of ``"{webhook-id}.{webhook-timestamp}.{body}"`` under that key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

from .errors import WebhookVerificationError

__all__ = ["SECRET_PREFIX", "signature", "signing_key"]

SECRET_PREFIX: Final = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key in a ``whsec_...`` secret: the base64 after the prefix (which may be left out).

    Raises:
        TypeError: `secret` is not a str.
        WebhookVerificationError: the secret is empty or not base64. The message never holds it.
    """
    if not isinstance(secret, str):
        raise TypeError(f"secret must be the whsec_... string, not {type(secret).__name__}")
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        # Strict: a lenient decoder would silently drop the characters that are not base64.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError:  # binascii.Error, or a character that is not ASCII
        raise WebhookVerificationError(
            f"The webhook secret is malformed: the part after {SECRET_PREFIX!r} is not base64. "
            "Pass the key as client.webhooks.default_secret() gives it."
        ) from None
    if not key:
        raise WebhookVerificationError("The webhook secret is malformed: it holds no key.")
    return key


def signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> bytes:
    """The HMAC-SHA256 that a delivery's ``v1,<base64>`` signature encodes."""
    signed = b"%s.%s.%s" % (message_id.encode(), timestamp.encode(), body)
    return hmac.digest(key, signed, hashlib.sha256)
