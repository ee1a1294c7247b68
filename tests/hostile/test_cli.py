"""The CLI against a hostile server: files only where the user says, one deadline, clean errors."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import pytest

from replicatehome.cli import main
from replicatehome.cli._commands import default_name

from ..helpers import PNG, prediction
from .conftest import TOKEN, Api
from .server import HostileServer, Request, respond, trickle


@pytest.fixture
def cli(
    hostile: HostileServer, api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> list[str]:
    """The options that point the CLI at the hostile server, run from an empty folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    return ["--base-url", hostile.url, "--backend", api.name, "-q"]


def serve_image(hostile: HostileServer, api: Api, url_path: str, image: bytes = PNG) -> None:
    """Answer a create with a finished image at `url_path`, and serve `image` at any path."""
    output = [f"{hostile.url}{url_path}"]
    hostile.route("POST", api.create, respond(201, prediction("succeeded", output)))
    hostile.route("GET", "/", respond(200, image, raw=True))


@pytest.mark.parametrize(
    "url_path", ["/files/x/../../../../tmp/evil.sh", "/files/a.png/..", "/files/%2e%2e%2fx.png"]
)
def test_the_default_file_name_is_the_prediction_id_in_this_folder(
    cli: list[str], hostile: HostileServer, api: Api, tmp_path: Path, url_path: str
) -> None:
    serve_image(hostile, api, url_path)

    assert main(["image", "a cat", *cli]) == 0

    assert [path.name for path in tmp_path.iterdir()] == ["p1.png"]
    assert (tmp_path / "p1.png").read_bytes() == PNG


@pytest.mark.parametrize(
    ("prediction_id", "url", "name"),
    [
        ("../x", "https://h/a.png", "x.png"),
        ("/tmp/x/evil", "https://h/a.png", "tmpxevil.png"),
        ("a\r\nb\x00c", "https://h/a.JPG?x=1", "abc.jpg"),
        ("..", "https://h/a.sh", "image.png"),
        ("p1", "https://h/a.png/../../x.exe#y.png", "p1.png"),
        ("x" * 500, "https://h/a.webp", "x" * 100 + ".webp"),
    ],
)
def test_default_name_keeps_only_a_safe_base_name(prediction_id: str, url: str, name: str) -> None:
    assert default_name(prediction_id, url) == name


def test_the_default_name_never_replaces_a_file(
    cli: list[str], hostile: HostileServer, api: Api, tmp_path: Path
) -> None:
    (tmp_path / "p1.png").write_bytes(b"mine")
    serve_image(hostile, api, "/files/a.png")

    assert main(["image", "a cat", *cli]) == 0

    assert (tmp_path / "p1.png").read_bytes() == b"mine"
    assert (tmp_path / "p1-1.png").read_bytes() == PNG


@pytest.mark.parametrize("output", [None, "out.png"], ids=["default-name", "given-name"])
def test_a_file_that_appears_while_the_image_downloads_is_not_replaced(
    cli: list[str],
    hostile: HostileServer,
    api: Api,
    tmp_path: Path,
    output: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Another program takes the name after the CLI chose it: the checks before were fine.
    name = output or "p1.png"

    async def take_the_name_then_serve(request: Request, writer: asyncio.StreamWriter) -> bool:
        (tmp_path / name).write_bytes(b"theirs")
        return await respond(200, PNG, raw=True)(request, writer)

    serve_image(hostile, api, "/files/a.png")
    hostile.route("GET", "/files/", take_the_name_then_serve)
    given = ["-o", output] if output else []

    assert main(["image", "a cat", *given, *cli]) == 2

    assert "appeared while the image downloaded and was kept" in capsys.readouterr().err
    assert (tmp_path / name).read_bytes() == b"theirs"
    assert [path.name for path in tmp_path.iterdir()] == [name]  # no partial file either


def test_an_existing_output_is_kept_unless_forced(
    cli: list[str],
    hostile: HostileServer,
    api: Api,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "out.png").write_bytes(b"mine")
    serve_image(hostile, api, "/files/a.png")

    assert main(["image", "a cat", "-o", "out.png", *cli]) == 2
    assert "--force" in capsys.readouterr().err
    assert hostile.requests == []  # refused before a prediction was paid for
    assert (tmp_path / "out.png").read_bytes() == b"mine"

    assert main(["image", "a cat", "-o", "out.png", "--force", *cli]) == 0
    assert (tmp_path / "out.png").read_bytes() == PNG


def test_a_download_that_is_not_an_image_writes_no_file(
    cli: list[str], hostile: HostileServer, api: Api, tmp_path: Path
) -> None:
    serve_image(hostile, api, "/files/a.png", image=b"#!/bin/sh\nrm -rf ~\n")

    assert main(["image", "a cat", *cli]) == 3

    assert list(tmp_path.iterdir()) == []


def test_one_timeout_bounds_create_wait_and_download(
    cli: list[str], hostile: HostileServer, api: Api, tmp_path: Path
) -> None:
    output = [f"{hostile.url}/files/a.png"]
    hostile.route("POST", api.create, respond(201, prediction("processing")))
    hostile.route("GET", api.poll, respond(200, prediction("succeeded", output)))
    hostile.route("GET", "/files/", trickle(0.02, prefix=PNG, content_type="image/png"))

    started = time.monotonic()
    assert main(["image", "a cat", "--timeout", "1", *cli]) == 3

    assert time.monotonic() - started <= 1.5
    assert list(tmp_path.iterdir()) == []


def test_text_timeout_holds_against_a_trickling_server(
    cli: list[str], hostile: HostileServer, api: Api
) -> None:
    hostile.route("POST", api.create, respond(201, prediction("processing")))
    hostile.route("GET", api.poll, trickle(0.02))

    started = time.monotonic()
    assert main(["text", "hi", "--timeout", "1", *cli]) == 1

    assert time.monotonic() - started <= 1.5


def test_server_text_in_errors_cannot_drive_the_terminal(
    cli: list[str], hostile: HostileServer, api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = {"detail": "\x1b]0;pwned\x07\x1b[2J\rfake prompt $ "}
    hostile.route("POST", api.create, respond(400, evil))

    assert main(["text", "hi", *cli]) == 3

    err = capsys.readouterr().err
    assert not {"\x1b", "\x07", "\r"} & set(err)
    assert "pwned" in err  # shown, escaped


def test_an_output_that_is_a_device_is_written_in_place(
    cli: list[str], hostile: HostileServer, api: Api
) -> None:
    # Replacing it atomically would put a plain file where /dev/null was.
    serve_image(hostile, api, "/files/a.png")

    assert main(["image", "a cat", "-o", os.devnull, *cli]) == 0

    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
