"""Fixtures shared by the integration tests of the gpt4free provider, with and without g4f."""

from __future__ import annotations

import pytest

from replicatehome.compat.g4f import ReplicateHome
from replicatehome.emulator import Emulator


@pytest.fixture
def local(emu: Emulator) -> type[ReplicateHome]:
    """The provider pointed at the emulator the documented way: a subclass's `api_endpoint`."""

    class LocalReplicateHome(ReplicateHome):
        api_endpoint = f"{emu.url}/api/prediction"
        poll_interval = 0.05

    return LocalReplicateHome
