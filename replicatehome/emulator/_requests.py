"""What clients send, read and checked in one place: JSON bodies, and the headers of a create.

Python's json module accepts more than a JSON answer can carry: ``NaN`` and the infinities
(Starlette renders with ``allow_nan=False``), lone surrogates (they do not encode as UTF-8),
numbers too large to print back, and nesting deep enough to exhaust the stack. A body holding any
of them would be stored, then fail every answer that echoes it. So they are refused here, as a
client's mistake (400), before anything is stored; bodies over `MAX_BODY_BYTES` get a 413.

``Prefer: wait`` asks a ``/v1`` create to hold its answer until the prediction ends, and
``Cancel-After`` gives the lifetime after which a prediction still running is canceled: a number
of seconds (``30``), or numbers with units ``h``, ``m`` and ``s`` in that order (``90s``,
``5m``, ``1h30m45s``), from 5 seconds on.
"""

from __future__ import annotations

import json
import math
import re
from contextlib import aclosing
from itertools import accumulate
from typing import TYPE_CHECKING, Final

from starlette.requests import Request

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CANCEL_AFTER",
    "MAX_DEPTH",
    "MAX_WAIT",
    "MIN_CANCEL_AFTER",
    "BodyError",
    "parse_cancel_after",
    "parse_json_object",
    "parse_prefer_wait",
    "read_capped",
    "read_json_object",
]

MAX_BODY_BYTES: Final = 1024 * 1024
"""The largest request body accepted, in bytes (1 MiB); larger ones are answered 413."""

MAX_DEPTH: Final = 64
"""How deep arrays and objects may nest, the body's own object counting as the first level."""

MAX_WAIT: Final = 60
"""The longest hold, in seconds, and the one ``Prefer: wait`` without a number asks for."""

MIN_CANCEL_AFTER: Final = 5.0
"""The shortest lifetime the API accepts, in seconds."""

MAX_CANCEL_AFTER: Final = 7 * 86_400.0
"""The longest lifetime the emulator accepts, in seconds: a week, so readings stay precise."""

# Past the cap the body is still read, and dropped, up to this much: a client that sends a
# little too much then finishes sending and reads its 413, where a server that stops reading
# mid-body would leave it a connection reset. A client that sends far more is cut off.
_DRAIN_FACTOR: Final = 16

# Python's default limit on converting between int and str: past it, an echo could not render.
_MAX_INT_DIGITS: Final = 4300
_MAX_ECHO: Final = 32  # characters of a refused value quoted back in the error

# A string (the closing quote is optional, so an unterminated one runs to the end), to skip
# when counting brackets: brackets inside strings do not nest anything.
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]+")
# Every ASCII character but the brackets goes, and objects' braces count as arrays' brackets.
_BRACKETS_ONLY: Final[dict[int, str | None]] = {
    **dict.fromkeys(range(128)),
    ord("["): "[",
    ord("{"): "[",
    ord("]"): "]",
    ord("}"): "]",
}
_STEP: Final = {"[": 1, "]": -1}
_WAIT_SECONDS: Final = re.compile(r"[0-9]{1,6}")
_NUMBER: Final = r"[0-9]{1,9}(?:\.[0-9]{1,9})?"
_DURATION: Final = re.compile(
    rf"(?:(?P<plain>{_NUMBER})|(?:(?P<h>{_NUMBER})h)?(?:(?P<m>{_NUMBER})m)?(?:(?P<s>{_NUMBER})s)?)"
)
_UNITS: Final = {"h": 3600.0, "m": 60.0, "s": 1.0}
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89abcdefABCDEF]")


class BodyError(ValueError):
    """A request body the emulator refuses: the status to answer, and what is wrong."""

    def __init__(self, status_code: int, detail: str) -> None:
        """Describe the refusal, e.g. ``BodyError(400, "Request body is not valid JSON.")``."""
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail

    @property
    def title(self) -> str:
        """A short summary for a problem details object: the same for every body refused so."""
        return "Request body too large" if self.status_code == 413 else "Bad request"


class _Refused(ValueError):
    """Raised from inside `json.loads`, to stop it with our own message."""


async def read_json_object(request: Request) -> dict[str, JsonValue]:
    """Read `request`'s body, which must be a JSON object that can be sent back as it came.

    Raises:
        BodyError: 413 for a body over `MAX_BODY_BYTES`, 400 for anything `parse_json_object`
            refuses.
    """
    return parse_json_object(await read_capped(request, MAX_BODY_BYTES))


async def read_capped(request: Request, limit: int) -> bytes:
    """Read `request`'s whole body, which must be at most `limit` bytes.

    Raises:
        BodyError: 413 for a longer body. Up to 16 times `limit` is read and dropped first, so
            the client gets to read the answer; past that it is cut off.
    """
    chunks: list[bytes] = []
    size = 0
    # Counted as it arrives, whatever Content-Length says: a chunked body declares none.
    async with aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > _DRAIN_FACTOR * limit:
                break
            if size <= limit:
                chunks.append(chunk)
            else:
                chunks.clear()
    if size > limit:
        raise BodyError(413, f"Request body is larger than {limit} bytes.")
    return b"".join(chunks)


def parse_json_object(data: bytes) -> dict[str, JsonValue]:
    """Parse a request body that must be a JSON object that can be sent back as it came.

    Raises:
        BodyError: 400, when `data` is not UTF-8 or not JSON; holds ``NaN``, ``Infinity``,
            ``-Infinity``, a number out of a float's range, an integer of more than 4300 digits,
            or a lone surrogate; nests deeper than `MAX_DEPTH`; or is not an object.
    """
    try:
        # "surrogatepass", so that a surrogate encoded raw gets the same answer as an escaped
        # one: json.loads lets both through.
        text = data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise _bad("Request body is not valid JSON: it is not UTF-8.") from None
    if _too_deep(text):
        raise _bad(f"Request body is nested more than {MAX_DEPTH} levels deep.")
    try:
        body: JsonValue = json.loads(
            text, parse_constant=_no_constant, parse_float=_finite, parse_int=_bounded_int
        )
    except _Refused as error:
        raise _bad(f"Request body is not valid JSON: {error}") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise _bad(f"Request body is not valid JSON: {error.msg} at {where}.") from None
    except RecursionError:  # `_too_deep` should have seen it; the stack must not decide
        raise _bad(f"Request body is nested more than {MAX_DEPTH} levels deep.") from None
    except ValueError:
        raise _bad("Request body is not valid JSON.") from None
    surrogate = _lone_surrogate(text, body)
    if surrogate is not None:
        raise _bad(
            f"Request body has a lone surrogate (U+{ord(surrogate):04X}), which is not a "
            "character: it cannot be encoded as UTF-8."
        )
    if not isinstance(body, dict):
        raise _bad("Request body must be a JSON object.")
    return body


def parse_prefer_wait(header: str | None) -> int | None:
    """The seconds a ``Prefer`` header asks to wait, or ``None`` if it does not ask.

    ``wait`` means `MAX_WAIT`; ``wait=N`` means N, from 1 to `MAX_WAIT`. Other preferences in the
    header (RFC 7240: comma-separated, with ``;`` parameters) are ignored.

    Raises:
        ValueError: the ``wait`` preference has a value that is not a whole number from 1 to 60.
    """
    if header is None:
        return None
    for preference in header.split(","):
        token, _, _ = preference.partition(";")
        name, has_value, value = token.partition("=")
        if name.strip().lower() != "wait":
            continue
        if not has_value:
            return MAX_WAIT
        value = value.strip().strip('"')
        if not _WAIT_SECONDS.fullmatch(value) or not 1 <= int(value) <= MAX_WAIT:
            raise ValueError(
                f"Invalid Prefer header: wait must be a whole number of seconds from 1 to "
                f"{MAX_WAIT}, got {value!r}."
            )
        return int(value)
    return None


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


def _bad(detail: str) -> BodyError:
    return BodyError(400, detail)


def _too_deep(text: str) -> bool:
    """Whether `text` nests arrays and objects more than `MAX_DEPTH` deep, in linear time.

    It never recurses, so a body of a hundred thousand ``[`` cannot exhaust the stack.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # the usual case: too few brackets to nest that deep
    outside = _STRING.sub("", text)
    if not outside.isascii():
        outside = _NON_ASCII.sub("", outside)
    brackets = outside.translate(_BRACKETS_ONLY)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH


def _no_constant(name: str) -> JsonValue:
    raise _Refused(f"{name} is not a JSON number.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {_echo(text)} is out of range.")
    return value


def _bounded_int(text: str) -> int:
    # Checked here, so the answer does not hang on the interpreter's setting.
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise _Refused(f"an integer has more than {_MAX_INT_DIGITS} digits.")
    return int(text)


def _echo(text: str) -> str:
    return text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "…"


def _lone_surrogate(text: str, body: JsonValue) -> str | None:
    """The first lone surrogate in a string or a key of `body`, parsed from `text`, or ``None``."""
    raw = _SURROGATE.search(text)
    if raw is not None:
        return raw.group()
    if _SURROGATE_ESCAPE.search(text) is None:
        return None  # the usual case: no escape that could have made one
    # Escaped pairs were joined into one character by json.loads: only lone ones are left.
    pending: list[JsonValue] = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            found = _SURROGATE.search(value)
            if found is not None:
                return found.group()
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return None
