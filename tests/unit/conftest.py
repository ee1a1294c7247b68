"""Fixtures shared by the unit tests; the ones all tests share are in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ..helpers import TOKEN, AnyClient, Mode, close, make_client


@pytest.fixture
async def live(mode: Mode) -> AsyncIterator[AnyClient]:
    """A client of the current mode on the official backend (answered by respx)."""
    client = make_client(mode, api_token=TOKEN)
    yield client
    await close(client)


@pytest.fixture
async def bounded(mode: Mode) -> AsyncIterator[AnyClient]:
    """A client of the current mode whose own wait_timeout is 5 s, not 300.

    For tests of shorter per-call timeouts: if a call ignored its own, it would fail the test in
    seconds rather than wait five minutes.
    """
    client = make_client(mode, wait_timeout=5.0)
    yield client
    await close(client)
