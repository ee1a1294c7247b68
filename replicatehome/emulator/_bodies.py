"""The JSON request bodies of every route that takes one, read and checked in one place.

Python's json module accepts more than a JSON answer can carry: ``NaN`` and the infinities
(Starlette renders with ``allow_nan=False``), lone surrogates (they do not encode as UTF-8),
numbers too large to print back, and nesting deep enough to exhaust the stack. A body holding any
of them would be stored, then fail every answer that echoes it. So they are refused here, as a
client's mistake (400), before anything is stored; bodies over `MAX_BODY_BYTES` get a 413.
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
    "MAX_DEPTH",
    "BodyError",
    "parse_json_object",
    "read_capped",
    "read_json_object",
]

MAX_BODY_BYTES: Final = 1024 * 1024
"""The largest request body accepted, in bytes (1 MiB); larger ones are answered 413."""

MAX_DEPTH: Final = 64
"""How deep arrays and objects may nest, the body's own object counting as the first level."""

# Past the cap the body is still read, and dropped, up to this much: a client that sends a
# little too much then finishes sending and reads its 413, where a server that stops reading
# mid-body would leave it a connection reset. A client that sends far more is cut off.
_DRAIN_FACTOR: Final = 16

# Python's default limit on converting between int and str: past it, an echo could not render.
_MAX_INT_DIGITS: Final = 4300
_MAX_ECHO: Final = 32  # characters of a refused number quoted back in the error

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
