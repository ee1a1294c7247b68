"""The emulator tests' fixtures: an app on a fake clock and its in-process client, and a module's
emulator over sockets (each module that wants one defines `server`) and its client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from replicatehome.emulator import Emulator, EmulatorApp, EmulatorConfig, Faults

from ..helpers import TLS, FakeClock
from .helpers import AUTH, asgi_client, receiver

__all__ = ["receiver"]  # a fixture, used by name


@pytest.fixture
def clock() -> FakeClock:
    """The fake clock the app's predictions run on: tests move it instead of sleeping."""
    return FakeClock(50.0)


@pytest.fixture
def app(clock: FakeClock) -> EmulatorApp:
    """An app on `clock`: predictions start for 0.2 s, then process for 1 s."""
    return EmulatorApp(EmulatorConfig(starting=0.2, duration=1.0), clock=clock)


@pytest.fixture
async def api(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app`, in-process, with a token; the app's webhooks stop after the test."""
    async with asgi_client(app) as client:
        yield client
    await app.aclose()


@pytest.fixture
async def bounded_api(bounded: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the module's `bounded` app, which keeps few predictions."""
    async with asgi_client(bounded) as client:
        yield client


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    """The module's emulator, with no faults and fresh counters."""
    server.faults = Faults()
    server.stats.reset()
    return server


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    """A client of the module's emulator, over sockets, with a token."""
    with httpx.Client(base_url=emu.url, headers=AUTH, timeout=10, verify=TLS) as client:
        yield client
