"""``Prefer: wait``: hold a create request open until its prediction ends, or time is up.

The hold sleeps without blocking the event loop, until the moment the state machine says the
prediction ends, in steps of at most `TICK` so that a cancel or a stopping server is noticed.
"""

from __future__ import annotations

import re
import time
from typing import Final

import anyio

from ._backend import TICK, Backend
from ._state import finish_time

__all__ = ["MAX_WAIT", "hold", "parse_prefer_wait"]

MAX_WAIT: Final = 60
"""The longest hold, in seconds, and the one ``Prefer: wait`` without a number asks for."""

_MIN_SLEEP: Final = 0.001  # never spin, when float rounding puts a due time a hair in the past
_NUMBER: Final = re.compile(r"[0-9]{1,6}")


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
        if not _NUMBER.fullmatch(value) or not 1 <= int(value) <= MAX_WAIT:
            raise ValueError(
                f"Invalid Prefer header: wait must be a whole number of seconds from 1 to "
                f"{MAX_WAIT}, got {value!r}."
            )
        return int(value)
    return None


async def hold(backend: Backend, prediction_id: str, seconds: float) -> None:
    """Return when the prediction has ended, after `seconds` of real time, or when draining."""
    store = backend.store
    # The deadline is real time even when the store runs on a fake clock: the hold is bounded.
    deadline = time.monotonic() + seconds
    while not backend.draining:
        record = store.get(prediction_id)
        if record is None:
            return
        now = store.clock()
        finish = finish_time(record)  # a cancel can move it: read it again every step
        if finish is not None and now >= finish:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            return
        step = left if finish is None else min(left, finish - now)
        await anyio.sleep(min(max(step, _MIN_SLEEP), TICK))
