"""The session's emulators: one per configuration that tests ask for, started on first use."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..emulator import ConfigOptions, Emulator

__all__ = ["EmulatorPool"]

_EXTRA = ("starlette", "hypercorn")


class EmulatorPool:
    """Emulators kept running for the whole session, so that a test pays only for a reset."""

    def __init__(self) -> None:
        """Start with none: a session whose tests ask for no emulator starts none."""
        self._running: dict[str, Emulator] = {}

    def get(self, options: ConfigOptions) -> Emulator:
        """The running emulator made with `options`, started now if it is the first asked for.

        Fails the test, with the command that fixes it, if the ``emulator`` extra is missing.
        """
        # Options are plain values, but some (deployments) are dicts, which do not hash.
        key = repr(sorted(options.items()))
        emulator = self._running.get(key)
        if emulator is None:
            missing = [name for name in _EXTRA if importlib.util.find_spec(name) is None]
            if missing:
                pytest.fail(
                    f"The replicatehome_emulator fixture needs {' and '.join(missing)}: "
                    "pip install 'replicatehome[emulator]'",
                    pytrace=False,
                )
            from ..emulator import Emulator

            emulator = self._running[key] = Emulator(**options).start()
        return emulator

    def stop(self) -> None:
        """Stop every emulator."""
        for emulator in self._running.values():
            emulator.stop()
        self._running.clear()
