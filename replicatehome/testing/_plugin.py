"""The pytest plugin, registered through the ``pytest11`` entry point: the marker and fixtures.

pytest imports this module in every session of every project that has replicatehome
installed, so it imports nothing heavy itself: the emulator, its server, the clients and respx
are imported by the fixtures that need them, when a test asks for one.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .. import AsyncClient, Client
    from ..emulator import Emulator
    from ._emulators import EmulatorPool
    from ._mock import ReplicateMock

MARKER = (
    "replicatehome(protocol='homepage', faults=None, **options): what the replicatehome_* "
    "fixtures give this test: the protocol of the clients ('homepage' or 'official'), the "
    "emulator's Faults, and EmulatorConfig options such as duration=0.05"
)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so that ``--strict-markers`` accepts it."""
    config.addinivalue_line("markers", MARKER)


@pytest.fixture(scope="session")
def _replicatehome_emulators() -> Iterator[EmulatorPool]:
    """The session's emulators, stopped at its end."""
    from ._emulators import EmulatorPool

    pool = EmulatorPool()
    yield pool
    pool.stop()


@pytest.fixture
def replicatehome_emulator(
    request: pytest.FixtureRequest, _replicatehome_emulators: EmulatorPool
) -> Emulator:
    """A running `Emulator`, fresh for this test: no predictions, counters at zero.

    One emulator serves every test of the session that asks for the same options (see the
    ``replicatehome`` marker), reset before each; the faults the marker names are set after
    the reset. Set ``replicatehome_emulator.faults`` in a test to change them: the next test
    starts without them.
    """
    from ._settings import settings_of

    settings = settings_of(request.node)
    emulator = _replicatehome_emulators.get(settings.options)
    emulator.reset()
    if settings.faults is not None:
        emulator.faults = settings.faults
    return emulator


@pytest.fixture
def replicatehome_client(
    request: pytest.FixtureRequest, replicatehome_emulator: Emulator
) -> Iterator[Client]:
    """A `Client` of `replicatehome_emulator`, speaking the marker's protocol, closed after."""
    from .. import Client
    from ._settings import settings_of

    options = settings_of(request.node).client_options(replicatehome_emulator.url)
    with Client(**options) as client:
        yield client


@pytest.fixture
def replicatehome_async_client(request: pytest.FixtureRequest) -> AsyncClient:
    """An `AsyncClient` of `replicatehome_emulator`, speaking the marker's protocol.

    It is made and closed on the test's event loop: pytest-asyncio's (in auto or strict mode),
    or anyio's for a test marked ``@pytest.mark.anyio``.
    """
    # anyio's plugin runs the async fixtures of the tests that use its `anyio_backend`;
    # pytest-asyncio in strict mode runs only fixtures declared with its own decorator.
    runner = "anyio" if "anyio_backend" in request.fixturenames else "asyncio"
    client: AsyncClient = request.getfixturevalue(f"_replicatehome_async_client_{runner}")
    return client


def _async_client_fixture() -> Callable[..., AsyncIterator[AsyncClient]]:
    """A new async fixture function: each event-loop plugin marks its own as it likes."""

    async def fixture(
        request: pytest.FixtureRequest, replicatehome_emulator: Emulator
    ) -> AsyncIterator[AsyncClient]:
        from .. import AsyncClient
        from ._settings import settings_of

        options = settings_of(request.node).client_options(replicatehome_emulator.url)
        async with AsyncClient(**options) as client:
            yield client

    return fixture


_async_client_anyio = pytest.fixture(
    _async_client_fixture(), name="_replicatehome_async_client_anyio"
)


def _asyncio_fixture(
    function: Callable[..., AsyncIterator[AsyncClient]], name: str
) -> Callable[..., AsyncIterator[AsyncClient]]:
    """`function` as a fixture that pytest-asyncio runs in strict mode too, if it is there."""
    try:  # pytest has imported it already when it is installed: it is a plugin of its own
        from pytest_asyncio import fixture
    except ImportError:  # pragma: no cover - the project's tests run with pytest-asyncio
        return pytest.fixture(function, name=name)
    return fixture(function, name=name)


_async_client_asyncio = _asyncio_fixture(
    _async_client_fixture(), "_replicatehome_async_client_asyncio"
)


@pytest.fixture
def replicatehome_mock() -> Iterator[ReplicateMock]:
    """respx routes that answer the SDK's creates and polls with a canned prediction.

    Every request that no route matches fails, so nothing reaches a network. Change the answer
    with ``replicatehome_mock.reply(output=..., status=..., error=...)``. Needs respx.
    """
    if importlib.util.find_spec("respx") is None:
        pytest.fail("The replicatehome_mock fixture needs respx: pip install respx", pytrace=False)
    import respx

    from ._mock import mock_replicatehome

    with respx.mock(assert_all_called=False) as router:
        yield mock_replicatehome(router)
