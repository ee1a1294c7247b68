"""Class 2: memory stays near the client's limits, whatever size the server claims or sends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from replicatehome import ResponseTooLargeError

from ..helpers import PNG, Mode, call, collect, prediction
from .conftest import Api, Clients, Peak, save
from .server import HostileServer, bomb, endless, event_stream, respond

MIB = 1 << 20


@pytest.mark.parametrize("where", ["create", "poll"])
async def test_an_endless_answer_stops_at_max_response_bytes(
    clients: Clients, hostile: HostileServer, api: Api, where: str
) -> None:
    hostile.route(
        "POST", api.create, endless() if where == "create" else respond(201, prediction())
    )
    hostile.route("GET", api.poll, endless())
    client = clients(max_response_bytes=MIB)

    with Peak() as peak, pytest.raises(ResponseTooLargeError) as caught:
        await call(client.generate_text("hi"))

    assert caught.value.limit == MIB
    assert peak.bytes < 4 * MIB


async def test_a_gzip_bomb_is_stopped_before_it_inflates(
    clients: Clients, hostile: HostileServer, api: Api
) -> None:
    # About 1 MiB on the wire, 1 GiB inflated: the default limit (16 MiB) must stop it.
    hostile.route("POST", api.create, respond(201, prediction()))
    hostile.route("GET", api.poll, bomb())
    client = clients()

    with Peak() as peak, pytest.raises(ResponseTooLargeError) as caught:
        await call(client.generate_text("hi"))

    assert caught.value.limit == 16 * MIB
    assert peak.bytes < 3 * 16 * MIB


@pytest.mark.parametrize("api", ["official"], indirect=True)
@pytest.mark.parametrize(
    ("first", "then"),
    [(b"data: ", b"x" * 65536), (b"event: output\n", b"data: " + b"x" * 65530 + b"\n")],
    ids=["one-endless-line", "one-endless-event"],
)
async def test_an_endless_event_stops_at_max_event_bytes(
    clients: Clients, hostile: HostileServer, api: Api, first: bytes, then: bytes
) -> None:
    stream = {"stream": f"{hostile.url}/stream/p1"}
    hostile.route("POST", api.create, respond(201, prediction("processing", urls=stream)))
    hostile.route("GET", "/stream/", event_stream(first, then, 0))
    client = clients(max_event_bytes=MIB)

    with Peak() as peak, pytest.raises(ResponseTooLargeError) as caught:
        await collect(client.stream_text("hi"))

    assert caught.value.limit == MIB
    assert peak.bytes < 6 * MIB


@pytest.mark.parametrize("api", ["official"], indirect=True)
async def test_an_endless_stream_of_small_events_stops_at_max_response_bytes(
    clients: Clients, hostile: HostileServer, api: Api
) -> None:
    # Each event is far under max_event_bytes: only the cap on the text in all can stop them.
    stream = {"stream": f"{hostile.url}/stream/p1"}
    hostile.route("POST", api.create, respond(201, prediction("processing", urls=stream)))
    event = b"event: output\ndata: " + b"x" * 1000 + b"\n\n"
    hostile.route("GET", "/stream/", event_stream(b"", event * 64, 0))
    client = clients(max_response_bytes=MIB, wait_timeout=2)

    with Peak() as peak, pytest.raises(ResponseTooLargeError) as caught:
        await collect(client.stream_text("hi"))

    assert caught.value.limit == MIB
    assert peak.bytes < 6 * MIB


async def test_an_endless_download_stops_at_max_download_bytes_and_writes_nothing(
    clients: Clients, hostile: HostileServer, api: Api, mode: Mode, tmp_path: Path
) -> None:
    output = [f"{hostile.url}/files/a.png"]
    hostile.route("POST", api.create, respond(201, prediction("succeeded", output)))
    hostile.route("GET", "/files/", endless(PNG + bytes(65528), "image/png"))
    client = clients(max_download_bytes=4 * MIB)
    image = await call(client.generate_image("a cat"))

    with Peak() as peak, pytest.raises(ResponseTooLargeError):
        await save(mode, image, tmp_path / "a.png")

    assert peak.bytes < 2 * MIB  # streamed to the file: never held whole
    assert list(tmp_path.iterdir()) == []


async def test_a_large_image_is_streamed_to_disk_not_held(
    clients: Clients, hostile: HostileServer, api: Api, mode: Mode, tmp_path: Path
) -> None:
    data = PNG + bytes(16 * MIB - len(PNG))  # 8 times what may be held: held, it would show
    output = [f"{hostile.url}/files/a.png"]
    hostile.route("POST", api.create, respond(201, prediction("succeeded", output)))
    hostile.route("GET", "/files/", respond(200, data, [("Content-Type", "image/png")], raw=True))
    client = clients()
    image = await call(client.generate_image("a cat"))

    started = time.monotonic()
    with Peak() as peak:
        path = await save(mode, image, tmp_path / "a.png")

    assert path.stat().st_size == len(data)
    assert peak.bytes < 2 * MIB, f"{peak.bytes:,} bytes held for a 16 MiB file"
    assert time.monotonic() - started < 30
