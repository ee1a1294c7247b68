"""Fixtures for the hostile-server tests: the server, and clients of both kinds and protocols."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from replicatehome import AsyncClient, Client, ImageResult
from replicatehome._backends import BACKEND_NAMES, BackendName

from ..helpers import AnyClient, Mode, close
from .server import HostileServer, running

TOKEN = "r8_hostile_test_token"


@dataclass(frozen=True)
class Api:
    """Where one protocol creates and polls, and how to make a client for it."""

    name: BackendName
    create: str
    poll: str

    def poll_path(self, prediction_id: str = "p1") -> str:
        """The path a poll of `prediction_id` goes to (the homepage puts the id in the query)."""
        return self.poll if self.name == "homepage" else f"{self.poll}{prediction_id}"


HOMEPAGE = Api("homepage", "/api/prediction", "/api/poll")
OFFICIAL = Api("official", "/v1/", "/v1/predictions/")


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """A hostile server for this test, stopped after it."""
    with running() as server:
        yield server


@pytest.fixture(params=BACKEND_NAMES)
def api(request: pytest.FixtureRequest) -> Api:
    """The protocol the test runs on; ``indirect`` parametrisation picks one by name."""
    return HOMEPAGE if request.param == "homepage" else OFFICIAL


@dataclass
class Clients:
    """Makes clients of the test's mode and protocol for `server`, and closes them after it."""

    mode: Mode
    api: Api
    server: HostileServer
    made: list[AnyClient]

    def __call__(self, **options: object) -> AnyClient:
        """A client with fast polls and no retries unless `options` say otherwise."""
        options.setdefault("base_url", self.server.url)
        options.setdefault("poll_interval", 0.05)
        options.setdefault("max_retries", 0)
        if self.api.name == "official":
            options.setdefault("api_token", TOKEN)
        options.setdefault("backend", self.api.name)
        cls: type[AnyClient] = Client if self.mode == "sync" else AsyncClient
        client = cls(**options)  # type: ignore[arg-type]
        self.made.append(client)
        return client


@pytest.fixture
async def clients(mode: Mode, api: Api, hostile: HostileServer) -> AsyncIterator[Clients]:
    """A factory of clients for the hostile server, closed after the test."""
    factory = Clients(mode, api, hostile, [])
    yield factory
    for client in factory.made:
        await close(client)


async def save(mode: Mode, image: ImageResult, target: Path, **options: object) -> Path:
    """`image.save` or `await image.asave`, as the client of `mode` would."""
    if mode == "sync":
        return image.save(target, **options)  # type: ignore[arg-type]
    return await image.asave(target, **options)  # type: ignore[arg-type]


class Peak:
    """The most memory Python held while the `with` block ran (tracemalloc), in bytes."""

    bytes = 0

    def __enter__(self) -> Peak:
        tracemalloc.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
