"""``Prefer: wait``: hold a create request open until its prediction ends, or time is up.

The hold sleeps without blocking the event loop, until the moment the state machine says the
prediction ends, in steps of at most `TICK` so that a cancel or a stopping server is noticed.
"""

from __future__ import annotations

import time
from typing import Final

import anyio

from ._backend import TICK, Backend
from ._state import finish_time

__all__ = ["hold"]

_MIN_SLEEP: Final = 0.001  # never spin, when float rounding puts a due time a hair in the past


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
