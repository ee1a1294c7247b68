"""Client configuration, lifecycle of connections, logging, threads and cancellation."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading

import httpx
import pytest
import respx

import replicatehome
from replicatehome import AsyncClient, Client
from replicatehome._logs import logger, setup_from_env
from replicatehome.emulator import Emulator

from ..helpers import (
    BASE_URL,
    AnyClient,
    Mode,
    answer,
    call,
    close,
    handle,
    make_client,
    prediction,
)


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_base_url_defaults_to_the_homepage_or_the_environment(
    cls: type[AnyClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPLICATEHOME_BASE_URL", raising=False)
    assert cls().base_url == "https://homepage.replicate.com"
    monkeypatch.setenv("REPLICATEHOME_BASE_URL", "http://127.0.0.1:9999")
    assert cls().base_url == "http://127.0.0.1:9999"
    assert cls(base_url="http://other").base_url == "http://other"
    assert "http://other" in repr(cls(base_url="http://other"))


@pytest.mark.parametrize("cls", [Client, AsyncClient])
@pytest.mark.parametrize(
    "options",
    [{"max_retries": -1}, {"wait_timeout": 0}, {"poll_interval": -1.0}],
)
def test_nonsense_options_are_rejected(cls: type[AnyClient], options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        cls(**options)  # type: ignore[arg-type]


async def test_a_float_timeout_keeps_a_short_connect_timeout(
    mode: Mode, mock: respx.MockRouter
) -> None:
    route = mock.get("/api/poll").mock(return_value=answer("succeeded"))
    client = make_client(mode, timeout=60.0)

    await handle(client.predictions.get("p1"))
    await close(client)

    timeout = route.calls[0].request.extensions["timeout"]
    assert timeout["read"] == 60.0
    assert timeout["connect"] == 5.0


async def test_a_callers_http_client_is_used_and_left_open(mode: Mode) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=prediction("succeeded", ["ok"]))

    transport = httpx.MockTransport(handler)
    http: httpx.Client | httpx.AsyncClient
    http = (
        httpx.Client(transport=transport)
        if mode == "sync"
        else httpx.AsyncClient(transport=transport)
    )
    client = make_client(mode, http_client=http)

    result = await call(client.generate_text("hi"))
    await close(client)

    assert result.text == "ok"
    assert len(seen) == 1
    assert not http.is_closed
    if isinstance(http, httpx.Client):
        http.close()
    else:
        await http.aclose()


async def test_context_managers_close_their_connections(mock: respx.MockRouter) -> None:
    with Client(base_url=BASE_URL) as sync_client:
        pass
    async with AsyncClient(base_url=BASE_URL) as async_client:
        pass
    assert sync_client._driver.sender.http.is_closed
    assert async_client._driver.sender.http.is_closed


def test_one_client_serves_many_threads(mock: respx.MockRouter) -> None:
    mock.post("/api/prediction").mock(
        side_effect=lambda request: httpx.Response(
            201, json=prediction("succeeded", [request.content.decode()[-8:]])
        )
    )
    results: list[str] = []
    with Client(base_url=BASE_URL) as client:

        def work() -> None:
            results.append(client.generate_text("hi").text)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert len(results) == 8


async def test_cancelling_a_waiting_task_leaves_the_client_usable(
    mock: respx.MockRouter,
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    poll = mock.get("/api/poll").mock(return_value=answer("processing"))
    async with AsyncClient(base_url=BASE_URL, poll_interval=0.01) as client:
        task = asyncio.create_task(client.generate_text("hi"))
        for _ in range(100):
            if poll.call_count >= 2:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        poll.mock(return_value=answer("succeeded", ["again"]))
        assert (await client.generate_text("hi")).text == "again"


def test_logging_is_off_by_default_and_enabled_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.delenv("REPLICATEHOME_LOG", raising=False)
    setup_from_env()
    assert logger.handlers == []

    monkeypatch.setenv("REPLICATEHOME_LOG", "debug")
    setup_from_env()
    assert logger.level == logging.DEBUG
    assert len(logger.handlers) == 1


async def test_a_new_client_sets_logging_up_from_the_environment_once(
    mode: Mode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setenv("REPLICATEHOME_LOG", "info")

    clients = [make_client(mode), make_client(mode)]
    assert logger.level == logging.INFO
    assert len(logger.handlers) == 1
    for made in clients:
        await close(made)


def test_importing_the_clients_leaves_logging_alone() -> None:
    code = (
        "import logging, replicatehome._client\n"
        "assert not logging.getLogger('replicatehome').handlers"
    )
    env = {**os.environ, "REPLICATEHOME_LOG": "debug"}
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=60, capture_output=True)
    assert done.returncode == 0, done.stderr


async def test_debug_logs_redact_secret_headers(
    client: AnyClient, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["ok"]))
    secret_client = make_client(
        "sync" if isinstance(client, Client) else "async",
        headers={"Authorization": "Bearer r8_secret", "Cookie": "session=secret"},
    )

    with caplog.at_level(logging.DEBUG, logger="replicatehome"):
        await call(secret_client.generate_text("hi"))
    await close(secret_client)

    assert "POST http://homepage.test/api/prediction" in caplog.text
    assert "[redacted]" in caplog.text
    assert "secret" not in caplog.text


def test_the_public_api_is_exactly_exported() -> None:
    for name in replicatehome.__all__:
        assert getattr(replicatehome, name) is not None
        if name != "__version__" and name != "PredictionResult":
            assert getattr(replicatehome, name).__doc__, f"{name} has no docstring"


def test_an_async_client_used_from_a_second_event_loop_says_what_to_do(emu: Emulator) -> None:
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    client = AsyncClient(base_url=emu.url)
    try:
        first.run_until_complete(client.generate_text("hi"))

        with pytest.raises(RuntimeError, match="one AsyncClient per event loop"):
            second.run_until_complete(client.generate_text("hi"))
    finally:
        first.run_until_complete(client.aclose())
        first.close()
        second.close()
