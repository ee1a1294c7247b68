"""``Cancel-After``: the lifetime after which a prediction still running is canceled.

The header is a duration: a number of seconds (``30``), or numbers with units ``h``, ``m`` and
``s`` in that order (``90s``, ``5m``, ``1h30m45s``). The minimum is 5 seconds.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_CANCEL_AFTER", "MIN_CANCEL_AFTER", "parse_cancel_after"]

MIN_CANCEL_AFTER: Final = 5.0
"""The shortest lifetime the API accepts, in seconds."""

MAX_CANCEL_AFTER: Final = 7 * 86_400.0
"""The longest lifetime the emulator accepts, in seconds: a week, so readings stay precise."""

_NUMBER: Final = r"[0-9]{1,9}(?:\.[0-9]{1,9})?"
_DURATION: Final = re.compile(
    rf"(?:(?P<plain>{_NUMBER})|(?:(?P<h>{_NUMBER})h)?(?:(?P<m>{_NUMBER})m)?(?:(?P<s>{_NUMBER})s)?)"
)
_UNITS: Final = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse_cancel_after(header: str | None) -> float | None:
    """The seconds a ``Cancel-After`` header gives, or ``None`` without the header.

    Raises:
        ValueError: the header is not a duration, or is under `MIN_CANCEL_AFTER` or over
            `MAX_CANCEL_AFTER`.
    """
    if header is None:
        return None
    text = header.strip()
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(
            f"Cancel-After must be a duration like 30s, 5m or 1h30m, got {_echo(text)!r}."
        )
    if match["plain"] is not None:
        seconds = float(match["plain"])
    else:
        seconds = sum(float(match[unit] or 0) * factor for unit, factor in _UNITS.items())
    if not MIN_CANCEL_AFTER <= seconds <= MAX_CANCEL_AFTER:
        raise ValueError(
            f"Cancel-After must be from {MIN_CANCEL_AFTER:g} seconds to "
            f"{MAX_CANCEL_AFTER / 86_400:g} days, got {_echo(text)!r}."
        )
    return seconds


def _echo(text: str) -> str:
    return text if len(text) <= 32 else text[:32] + "…"
