"""The SDK's own HTTP clients: they skip `httpx.Client.send`, and must lose nothing by it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from replicatehome import AsyncClient
from replicatehome._transport import IN_FLIGHT

from ..helpers import call, close, handle, prediction
from .conftest import Api, Clients
from .server import HostileServer, Request, respond, running

pytestmark = pytest.mark.parametrize("api", ["homepage"], indirect=True)


async def test_a_proxy_from_the_environment_carries_the_requests(
    clients: Clients, api: Api, hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The "proxy" is the hostile server: a request for another origin reaches it in absolute form.
    monkeypatch.setenv("HTTP_PROXY", hostile.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    origin = "http://replicate.invalid"
    hostile.route("POST", f"{origin}{api.create}", respond(201, prediction("starting")))
    hostile.route("GET", f"{origin}{api.poll}", respond(200, prediction("succeeded", ["ok"])))
    client = clients(base_url=origin)

    result = await call(client.generate_text("hi"))

    assert result.text == "ok"
    assert [r.target for r in hostile.requests][:2] == [
        f"{origin}{api.create}",
        f"{origin}{api.poll}?id=p1",
    ]


async def test_a_cookie_the_server_sets_is_never_sent_back(
    clients: Clients, api: Api, hostile: HostileServer
) -> None:
    cookie = [("Set-Cookie", "session=from-the-server; Path=/")]
    hostile.route("POST", api.create, respond(201, prediction("starting"), cookie))
    hostile.route("GET", api.poll, respond(200, prediction("succeeded", ["ok"]), cookie))
    client = clients()

    await call(client.generate_text("hi"))
    await call(client.generate_text("hi"))

    assert len(hostile.requests) >= 4
    assert all("cookie" not in request.headers for request in hostile.requests)


async def test_a_closed_client_says_so(clients: Clients) -> None:
    client = clients()
    await close(client)

    with pytest.raises(RuntimeError, match="client has been closed"):
        await handle(client.predictions.get("p1"))


async def test_async_requests_beyond_the_in_flight_cap_wait_their_turn(api: Api) -> None:
    open_now = most = 0
    full = asyncio.Event()

    async def held(request: Request, writer: asyncio.StreamWriter) -> bool:
        # Each answer waits until the cap's worth of requests are open (5 s at most), so a
        # slow machine cannot hide a cap that lets too few through; and then a while longer,
        # for any request past the cap to arrive, so that one that lets too many through shows.
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        if open_now >= IN_FLIGHT:
            full.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await full.wait()
        await asyncio.sleep(0.2)
        open_now -= 1
        return await respond(200, prediction("succeeded", ["ok"]))(request, writer)

    with running() as server:
        server.route("GET", api.poll, held)
        # A slot that is never given back fails the test at this deadline, not the default's.
        async with AsyncClient(base_url=server.url, max_retries=0, wait_timeout=10) as client:
            gets = [client.predictions.get(f"p{n}") for n in range(IN_FLIGHT + 20)]
            done = await asyncio.gather(*gets)

    assert len(done) == IN_FLIGHT + 20
    assert most == IN_FLIGHT  # the cap is reached, and never passed
