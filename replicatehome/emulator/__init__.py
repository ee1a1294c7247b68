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

from ._app import EmulatorApp, EmulatorStats
from ._config import ConfigOptions, EmulatorConfig
from ._faults import Faults
from ._server import Emulator, serve
from ._state import emulated_text

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

create_app = EmulatorApp
"""Another name for `EmulatorApp`: ``create_app(config, clock=...)`` makes the ASGI app."""
