"""Class 1: the deadline bounds the whole call, whatever the server does with its time."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from replicatehome import APITimeoutError, PredictionTimeoutError

from ..helpers import PNG, TLS, Mode, call, collect, prediction
from .conftest import Api, Clients, save
from .server import HostileServer, event_stream, respond, stall, trickle

DEADLINE = 0.25
"""Short, to keep the suite fast: each server here would stretch a call for ever without it."""
SLACK = 0.5
"""The issue's promise: every call ends within its deadline plus half a second."""


@pytest.mark.parametrize(
    ("where", "headers_too", "error"),
    [
        ("create", False, APITimeoutError),
        ("create", True, APITimeoutError),
        ("poll", False, PredictionTimeoutError),
    ],
    ids=["create-body", "create-headers", "poll-body"],
)
async def test_a_trickled_answer_ends_at_the_deadline(
    clients: Clients,
    hostile: HostileServer,
    api: Api,
    where: str,
    headers_too: bool,
    error: type[Exception],
) -> None:
    # A byte every 20 ms: each read succeeds long before httpx's 30 s read timeout.
    slow = trickle(0.02, headers_too=headers_too)
    hostile.route("POST", api.create, slow if where == "create" else respond(201, prediction()))
    hostile.route("GET", api.poll, slow)
    client = clients(wait_timeout=DEADLINE)

    started = time.monotonic()
    with pytest.raises(error):
        await call(client.generate_text("hi"))

    assert time.monotonic() - started <= DEADLINE + SLACK


@pytest.mark.parametrize("api", [pytest.param("homepage", id="homepage")], indirect=True)
async def test_a_read_that_starts_just_before_the_deadline_ends_at_it(
    clients: Clients, hostile: HostileServer, api: Api
) -> None:
    # httpx times each read from the time left when the request was sent: a read that starts
    # just before the deadline could run on for most of the deadline again. The deadline is
    # longer than the slack here, so that such a read would overrun it.
    deadline = 1.0
    hostile.route("POST", api.create, respond(201, prediction()))
    hostile.route("GET", api.poll, stall(deadline - 0.1))
    client = clients(wait_timeout=deadline)

    started = time.monotonic()
    with pytest.raises(PredictionTimeoutError):
        await call(client.generate_text("hi"))

    assert time.monotonic() - started <= deadline + SLACK


@pytest.mark.parametrize("api", [pytest.param("homepage", id="homepage")], indirect=True)
async def test_a_trickle_through_the_callers_own_http_client_ends_at_the_deadline(
    clients: Clients, hostile: HostileServer, api: Api, mode: Mode
) -> None:
    # Its sockets know nothing of the deadline: the check between chunks ends the call.
    http = httpx.Client(verify=TLS) if mode == "sync" else httpx.AsyncClient(verify=TLS)
    hostile.route("POST", api.create, respond(201, prediction()))
    hostile.route("GET", api.poll, trickle(0.02))
    client = clients(wait_timeout=DEADLINE, http_client=http)

    started = time.monotonic()
    try:
        with pytest.raises(PredictionTimeoutError):
            await call(client.generate_text("hi"))
    finally:
        if isinstance(http, httpx.Client):
            http.close()
        else:
            await http.aclose()

    assert time.monotonic() - started <= DEADLINE + SLACK


@pytest.mark.parametrize(
    "then", [b": keep-alive\n\n", b"data: never ends\n"], ids=["comments", "unfinished-event"]
)
@pytest.mark.parametrize("api", [pytest.param("official", id="official")], indirect=True)
async def test_an_event_stream_that_says_nothing_ends_at_the_deadline(
    clients: Clients, hostile: HostileServer, api: Api, then: bytes
) -> None:
    stream = {"get": f"{hostile.url}/v1/predictions/p1", "stream": f"{hostile.url}/stream/p1"}
    hostile.route("POST", api.create, respond(201, prediction("processing", urls=stream)))
    hostile.route("GET", api.poll, respond(200, prediction("processing", urls=stream)))
    hostile.route("GET", "/stream/", event_stream(b"", then, 0.02))
    client = clients(wait_timeout=DEADLINE)

    started = time.monotonic()
    with pytest.raises(PredictionTimeoutError):
        await collect(client.stream_text("hi"))

    assert time.monotonic() - started <= DEADLINE + SLACK
    assert hostile.sent("GET", "/stream/"), "the stream was not followed"


@pytest.mark.parametrize("api", [pytest.param("official", id="official")], indirect=True)
async def test_a_trickled_cancel_after_a_timeout_still_ends_within_the_slack(
    clients: Clients, hostile: HostileServer, api: Api
) -> None:
    # The generate call cancels its prediction at the deadline; the server trickles that too.
    hostile.route("POST", api.create, respond(201, prediction("processing")))
    hostile.route("GET", api.poll, respond(200, prediction("processing")))
    hostile.route("POST", "/v1/predictions/p1/cancel", trickle(0.02))
    client = clients(wait_timeout=DEADLINE)

    started = time.monotonic()
    with pytest.raises(PredictionTimeoutError):
        await call(client.generate_text("hi"))

    assert time.monotonic() - started <= DEADLINE + SLACK
    assert hostile.sent("POST", "/v1/predictions/p1/cancel"), "no cancel was sent"


async def test_a_trickled_download_ends_at_its_timeout_and_writes_nothing(
    clients: Clients, hostile: HostileServer, api: Api, mode: Mode, tmp_path: Path
) -> None:
    output = [f"{hostile.url}/files/a.png"]
    hostile.route("POST", api.create, respond(201, prediction("succeeded", output)))
    hostile.route("GET", "/files/", trickle(0.02, prefix=PNG, content_type="image/png"))
    client = clients(wait_timeout=30)
    image = await call(client.generate_image("a cat"))
    target = tmp_path / "a.png"

    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        await save(mode, image, target, timeout=DEADLINE)

    assert time.monotonic() - started <= DEADLINE + SLACK
    assert list(tmp_path.iterdir()) == []
