"""What a test asked of the plugin with ``@pytest.mark.replicatehome(...)``, defaults filled in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypedDict, cast

if TYPE_CHECKING:
    import pytest

    from .._backends import BackendName
    from ..emulator import ConfigOptions, Faults

__all__ = [
    "API_TOKEN",
    "DEFAULT_OPTIONS",
    "POLL_INTERVAL",
    "ClientArgs",
    "Settings",
    "settings_of",
]

API_TOKEN: Final = "r8_replicatehome_test"
"""The token the official-protocol client fixtures send; by default the emulator takes any."""

POLL_INTERVAL: Final = 0.02
"""The client fixtures' poll interval: a prediction of ``duration=0.05`` is seen to end at once."""

DEFAULT_OPTIONS: Final[ConfigOptions] = {"duration": 0.05, "starting": 0.01}
"""The emulator's timings unless a test asks for others: fast, and still through every state."""


@dataclass(frozen=True, slots=True)
class Settings:
    """One test's wishes.

    Attributes:
        protocol: The protocol the client fixtures speak.
        faults: The faults the emulator starts the test with (``None``: its configured ones).
        options: `EmulatorConfig` fields: the emulator the test gets is made with these.
    """

    protocol: BackendName
    faults: Faults | None
    options: ConfigOptions

    def client_options(self, base_url: str) -> ClientArgs:
        """The options of the client fixtures, sync and async, for the server at `base_url`."""
        return {
            "base_url": base_url,
            "backend": self.protocol,
            # The official protocol needs a token; the homepage one must not pick up the
            # developer's $REPLICATE_API_TOKEN, and with a backend named it does not.
            "api_token": API_TOKEN if self.protocol == "official" else None,
            "poll_interval": POLL_INTERVAL,
        }


class ClientArgs(TypedDict):
    """What the client fixtures pass to `Client` and `AsyncClient`."""

    base_url: str
    backend: BackendName
    api_token: str | None
    poll_interval: float


def settings_of(node: pytest.Item) -> Settings:
    """Read the ``replicatehome`` markers of `node`: the closest one wins, keyword by keyword.

    So ``pytestmark = pytest.mark.replicatehome(protocol="official")`` on a module and
    ``@pytest.mark.replicatehome(duration=1.0)`` on one of its tests combine.
    """
    from .._backends import check_backend
    from ..emulator import Faults

    wishes: dict[str, object] = {}
    for marker in reversed(list(node.iter_markers("replicatehome"))):
        if marker.args:
            raise TypeError("@pytest.mark.replicatehome takes keyword arguments only")
        wishes.update(marker.kwargs)
    protocol = check_backend(wishes.pop("protocol", "homepage"), "protocol")
    faults = wishes.pop("faults", None)
    if faults is not None and not isinstance(faults, Faults):
        raise TypeError(f"faults must be a replicatehome.emulator.Faults, not {faults!r}")
    # Anything else is an EmulatorConfig field: EmulatorConfig checks names and values.
    options = cast("ConfigOptions", {**DEFAULT_OPTIONS, **wishes})
    return Settings(protocol, faults, options)
