"""Class 5: ids and URLs that a server chose are data: checked, quoted, never followed blindly."""

from __future__ import annotations

from pathlib import Path

import pytest

from replicatehome import ResponseValidationError

from ..helpers import Mode, call, handle, prediction
from .conftest import Api, Clients, save
from .server import HostileServer, respond

BAD_IDS = ["a\r\nX-Evil: 1", "a\x00b", "../../v1/account", "x" * 100_000, "a/b", "a?b", "", " "]


@pytest.mark.parametrize("bad_id", BAD_IDS, ids=lambda v: repr(v)[:20])
async def test_a_bad_prediction_id_is_a_typed_error_and_goes_into_no_url(
    clients: Clients, hostile: HostileServer, api: Api, bad_id: str
) -> None:
    hostile.route("POST", api.create, respond(201, prediction("processing", id=bad_id)))
    client = clients()

    with pytest.raises(ResponseValidationError):
        await call(client.generate_text("hi"))

    assert [r.method for r in hostile.requests] == ["POST"]  # nothing polled, anywhere


@pytest.mark.parametrize("bad_id", ["../x", "a\r\nb", "x" * 101])
async def test_a_bad_id_from_the_caller_is_refused_before_any_request(
    clients: Clients, hostile: HostileServer, bad_id: str
) -> None:
    client = clients()

    with pytest.raises(ValueError, match="is not a prediction id"):
        await handle(client.predictions.get(bad_id))

    assert hostile.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,!!!not base64",
        "data:image/png;base64",  # no comma
        "https://:443/a.png",
        "http://[::1",
        "https://" + "a" * 70_000 + ".png",
    ],
    ids=["bad-base64", "no-comma", "no-host", "unparseable", "too-long"],
)
async def test_an_output_url_that_cannot_be_fetched_is_a_typed_error(
    clients: Clients, hostile: HostileServer, api: Api, mode: Mode, tmp_path: Path, url: str
) -> None:
    hostile.route("POST", api.create, respond(201, prediction("succeeded", [url])))
    client = clients()
    image = await call(client.generate_image("a cat"))

    with pytest.raises(ResponseValidationError):
        await save(mode, image, tmp_path / "a.png")

    assert list(tmp_path.iterdir()) == []
    assert [r.method for r in hostile.requests] == ["POST"]


@pytest.mark.parametrize("output", [["file:///etc/passwd"], ["javascript:alert(1)"], [1, 2]])
async def test_an_image_output_that_is_not_urls_is_a_typed_error(
    clients: Clients, hostile: HostileServer, api: Api, output: list[object]
) -> None:
    hostile.route("POST", api.create, respond(201, prediction("succeeded", output)))
    client = clients()

    with pytest.raises(ResponseValidationError):
        await call(client.generate_image("a cat"))


async def test_a_download_that_is_not_an_image_writes_nothing(
    clients: Clients, hostile: HostileServer, api: Api, mode: Mode, tmp_path: Path
) -> None:
    output = [f"{hostile.url}/files/a.png"]
    html = b"<html><script>alert(1)</script></html>"
    hostile.route("POST", api.create, respond(201, prediction("succeeded", output)))
    hostile.route("GET", "/files/", respond(200, html, [("Content-Type", "image/png")], raw=True))
    client = clients()
    image = await call(client.generate_image("a cat"))

    with pytest.raises(ResponseValidationError, match="is not an image"):
        await save(mode, image, tmp_path / "a.png")

    assert list(tmp_path.iterdir()) == []


async def test_a_download_sends_no_credentials(
    clients: Clients, hostile: HostileServer, api: Api, mode: Mode, tmp_path: Path
) -> None:
    from ..helpers import PNG

    output = [f"{hostile.url}/files/a.png"]
    hostile.route("POST", api.create, respond(201, prediction("succeeded", output)))
    hostile.route("GET", "/files/", respond(200, PNG + b"image", raw=True))
    client = clients()
    image = await call(client.generate_image("a cat"))

    await save(mode, image, tmp_path / "a.png")

    (download,) = hostile.sent("GET", "/files/")
    assert "authorization" not in download.headers
    assert (tmp_path / "a.png").read_bytes() == PNG + b"image"
