"""Test your own code that uses replicatehome: a pytest plugin, and canned predictions.

Installing ``replicatehome[emulator]`` makes pytest load the plugin (disable it with
``-p no:replicatehome``). It costs nothing until a test asks for one of its fixtures:

- ``replicatehome_emulator``: a running `replicatehome.emulator.Emulator`, reset before each
  test;
- ``replicatehome_client`` and ``replicatehome_async_client``: a `replicatehome.Client` and a
  `replicatehome.AsyncClient` bound to it;
- ``replicatehome_mock``: a `ReplicateMock`, respx routes answering with a canned prediction,
  for unit tests with no server at all (needs respx).

``@pytest.mark.replicatehome(protocol="official", duration=0.2, faults=Faults(...))`` on a
test, a class or a module chooses the clients' protocol, the emulator's faults and any
`replicatehome.emulator.EmulatorConfig` option. See ``docs/testing.md``.
"""

from __future__ import annotations

from ._mock import MOCK_OUTPUT, ReplicateMock, mock_replicatehome
from ._settings import API_TOKEN

__all__ = ["API_TOKEN", "MOCK_OUTPUT", "ReplicateMock", "mock_replicatehome"]
