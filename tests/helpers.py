"""Helpers shared by the tests: run a call in either world, and build prediction bodies."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Literal, TypeVar

import httpx

from replicatehome import AsyncClient, AsyncPrediction, Client, Prediction, PredictionResult
from replicatehome._transport import tls_settings

T = TypeVar("T")
R = TypeVar("R", bound=PredictionResult)

BASE_URL = "http://homepage.test"
"""A host that does not exist: respx answers for it, so no test can reach a network."""

GEMMA_VERSION = "dff94eaf770e1fc211e425a50b51baa8e4cac6c39ef074681f9e39d778773626"
SD3_VERSION = "527d2a6296facb8e47ba1eaf17f142c240c19a30894f437feee9b91cc29d8e4f"

TLS = tls_settings()
"""The TLS settings of the suite's own httpx clients: the SDK's, built once per process (each
build loads the CA bundle, about 50 ms of CPU, which a client made per test would pay even for
plain http)."""

TOKEN = "r8_secret_test_token_0123456789"
"""A dummy API token: with it, a client speaks the official API."""

AnyClient = Client | AsyncClient
Mode = Literal["sync", "async"]


async def call(value: Awaitable[T] | T) -> T:
    """The value of a sync call, or the awaited value of an async one."""
    if inspect.isawaitable(value):
        return await value
    return value


async def handle(
    value: Prediction[R] | Awaitable[AsyncPrediction[R]],
) -> Prediction[R] | AsyncPrediction[R]:
    """The prediction handle a sync or async `predictions.create` or `get` returned."""
    if isinstance(value, Prediction):
        return value
    return await value


async def chunks(stream: Iterator[str] | AsyncIterator[str]) -> AsyncIterator[str]:
    """Iterate a sync or async text stream with ``async for``."""
    if isinstance(stream, Iterator):
        for chunk in stream:
            yield chunk
    else:
        async for chunk in stream:
            yield chunk


async def collect(stream: Iterator[str] | AsyncIterator[str]) -> list[str]:
    """All the chunks of a sync or async text stream."""
    return [chunk async for chunk in chunks(stream)]


def make_client(mode: Mode, **options: object) -> AnyClient:
    """A client of the given mode, polling fast, talking to `BASE_URL` unless told otherwise.

    Its back-off is 1 ms (the supported ``retry_backoff`` option): the servers here are local,
    and the real schedule's values are proven by the fake-clock tests of `RetryPolicy`.
    """
    options.setdefault("base_url", BASE_URL)
    options.setdefault("poll_interval", 0.05)
    options.setdefault("retry_backoff", 0.001)
    cls: type[AnyClient] = Client if mode == "sync" else AsyncClient
    return cls(**options)  # type: ignore[arg-type]


async def close(client: AnyClient) -> None:
    """Close a client of either kind."""
    if isinstance(client, Client):
        client.close()
    else:
        await client.aclose()


class FakeClock:
    """A monotonic clock that moves only when a test moves it (``clock.now += 1``)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


PNG = b"\x89PNG\r\n\x1a\n"
"""The signature every PNG file starts with: downloads of images must start like one."""


def prediction(
    status: str = "starting", output: object = None, id: str = "p1", **fields: object
) -> dict[str, object]:
    """A prediction body with the given status and output."""
    return {"id": id, "status": status, "output": output, "error": None, **fields}


def answer(
    status: str = "starting", output: object = None, id: str = "p1", **fields: object
) -> httpx.Response:
    """A 200 answer holding a prediction, sent as text/plain as real traffic sometimes is."""
    body = json.dumps(prediction(status, output, id, **fields))
    return httpx.Response(200, text=body, headers={"Content-Type": "text/plain"})
