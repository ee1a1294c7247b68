"""A local server that speaks Replicate's protocols, for tests, demos and benchmarks.

It serves the anonymous homepage protocol and, over the same predictions, the official ``/v1``
API (bearer tokens, ``Prefer: wait``, cancel, Server-Sent Events). Predictions move through
``starting``, ``processing`` and ``succeeded`` on a timer; text models stream synthetic tokens,
image models return URLs of images the emulator serves itself, in the format and size their
input asks for. Catalog models' inputs are checked against their real schemas. Faults
(throttling, gateway errors, dropped connections, failed predictions...) are injected on demand
with `Faults`. Start one with `Emulator`; see ``docs/emulator.md``.

Needs the ``emulator`` extra (Starlette and Hypercorn), which is imported only when an emulator or
an app is made: importing this package stays cheap.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ._config import ConfigOptions, EmulatorConfig
from ._faults import Faults
from ._server import Emulator, serve
from ._state import Clock, emulated_text
from ._stats import EmulatorStats

if TYPE_CHECKING:
    from ._app import EmulatorApp

__all__ = [
    "ConfigOptions",
    "Emulator",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorStats",
    "Faults",
    "create_app",
    "emulated_text",
    "serve",
]


def create_app(
    config: EmulatorConfig | None = None, *, clock: Clock = time.monotonic
) -> EmulatorApp:
    """Create the emulator's ASGI application, to serve yourself or call in-process.

    Args:
        config: How the emulator behaves (default: `EmulatorConfig()`).
        clock: The monotonic clock that drives predictions; tests pass a fake one to step
            through the states without sleeping.
    """
    from ._app import EmulatorApp

    return EmulatorApp(config, clock=clock)


def __getattr__(name: str) -> object:
    # `EmulatorApp` imports Starlette, so it is loaded on first use only.
    if name == "EmulatorApp":
        from ._app import EmulatorApp

        return EmulatorApp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
