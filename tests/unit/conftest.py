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
