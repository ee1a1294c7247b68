"""Class 7: a server that throttles until the deadline gets the last word, and no more requests."""

from __future__ import annotations

import time

import pytest

from replicatehome import RateLimitError

from ..helpers import call, prediction
from .conftest import Api, Clients
from .server import HostileServer, respond

DEADLINE = 0.3
BACKOFF = 0.1
"""With hints of 0.1 s too, a throttled request is retried a few times before the deadline."""
GIL = 0.25
"""Leeway for the server thread to note a request's arrival, behind the client's GIL and, on a
loaded machine running four test workers on two cores, behind them. The exact promise (no send
at or after the deadline) is proven on a fake clock in test_lifecycle."""


@pytest.mark.parametrize("retry_after", ["0.1", "30"], ids=["short-hint", "hint-past-deadline"])
async def test_a_create_throttled_until_the_deadline_raises_rate_limit_error(
    clients: Clients, hostile: HostileServer, api: Api, retry_after: str
) -> None:
    busy = {"detail": "slow down"}
    hostile.route("POST", api.create, respond(429, busy, [("Retry-After", retry_after)]))
    client = clients(wait_timeout=DEADLINE, max_retries=100, retry_backoff=BACKOFF)

    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await call(client.generate_text("hi"))
    ended = time.monotonic()

    assert ended - started <= DEADLINE + 0.5
    assert caught.value.status_code == 429
    assert caught.value.body == busy  # the last answer, as the server sent it
    creates = hostile.sent("POST", api.create)
    assert creates, "nothing was sent"
    assert all(request.at <= started + DEADLINE + GIL for request in creates)


async def test_polls_throttled_until_the_deadline_send_nothing_after_it(
    clients: Clients, hostile: HostileServer, api: Api
) -> None:
    from replicatehome import APITimeoutError, PredictionTimeoutError

    hostile.route("POST", api.create, respond(201, prediction("processing")))
    hostile.route("GET", api.poll, respond(429, {"detail": "slow down"}, [("Retry-After", "0.1")]))
    client = clients(wait_timeout=DEADLINE, max_retries=100, retry_backoff=BACKOFF)

    started = time.monotonic()
    with pytest.raises(PredictionTimeoutError) as caught:
        await call(client.generate_text("hi"))

    # The last poll failed by the 429, or by the deadline while the answer was on its way.
    assert isinstance(caught.value.__cause__, RateLimitError | APITimeoutError)
    assert all(request.at <= started + DEADLINE + GIL for request in hostile.requests)
