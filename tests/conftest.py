"""Fixtures: every client test runs once through `Client` and once through `AsyncClient`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator

import pytest
import respx

import replicatehome._async_driver
import replicatehome._sync_driver
from replicatehome.emulator import Emulator, Faults

from .helpers import BASE_URL, AnyClient, Mode, close, make_client


def pytest_collection_finish(session: pytest.Session) -> None:
    """Hide what the imports and the collection made from the garbage collector.

    Those objects live as long as the run: without this, every full collection walks them again
    (gc callbacks, summed over the workers: 5.1 s of collecting in a run, 3.6 s with it).
    """
    gc.freeze()


@pytest.fixture(autouse=True)
def no_real_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every client that names no server at a closed loopback port, never the internet.

    A developer's own REPLICATE_API_TOKEN must not switch the tests to the official backend.
    """
    monkeypatch.setenv("REPLICATEHOME_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> Mode:
    """Which client the test runs through."""
    value: Mode = request.param
    return value


@pytest.fixture
async def client(mode: Mode) -> AsyncIterator[AnyClient]:
    """A fresh client of the current mode, closed after the test."""
    instance = make_client(mode)
    yield instance
    await close(instance)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """respx routes for `BASE_URL`; a request no route matches fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, using="httpx") as router:
        yield router


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the drivers' sleeps instead of sleeping, so back-off tests run instantly."""
    recorded: list[float] = []

    def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def fake_async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(replicatehome._sync_driver, "sleep", fake_sleep)
    monkeypatch.setattr(replicatehome._async_driver, "async_sleep", fake_async_sleep)
    return recorded


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One emulator for the session; predictions take 0.1 s, or ``seconds`` from their input."""
    with Emulator(duration=0.03, starting=0.01, duration_from_input="seconds") as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    """The shared emulator, without faults and with fresh counters for this test."""
    emulator.faults = Faults()
    emulator.stats.reset()
    yield emulator
    emulator.faults = Faults()
