"""A live status line on stderr while a prediction runs: spinner, status, elapsed time, polls."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, Self

from .._models import PredictionSnapshot

if TYPE_CHECKING:
    from rich.status import Status

__all__ = ["Progress"]


class Progress:
    """Shows what a prediction is doing, on stderr, only when stderr is a terminal.

    Pass `update` as a prediction's ``on_update`` hook. With `enabled` false, or when stderr is
    piped, it shows nothing, so stdout and stderr carry only results and errors.
    """

    def __init__(self, label: str, *, enabled: bool = True) -> None:
        self.label = label
        self.status = "starting"
        self.polls = 0
        self._started = time.monotonic()
        self._enabled = enabled and sys.stderr.isatty()
        self._live: Status | None = None

    def update(self, snapshot: PredictionSnapshot) -> None:
        """Record one poll's answer."""
        self.status = snapshot.status.value
        self.polls += 1

    def __rich__(self) -> str:
        # Rendered on each refresh, so the elapsed time ticks between polls.
        elapsed = time.monotonic() - self._started
        return f"{self.label} [bold]{self.status}[/] · {elapsed:.1f}s · {self.polls} polls"

    def __enter__(self) -> Self:
        if self._enabled:
            from rich.console import Console

            self._live = Console(stderr=True).status(self, spinner="dots")
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()  # erases the line, also on Ctrl-C
