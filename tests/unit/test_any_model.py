"""Models outside the catalog: any JSON output, and the files in it, through both clients."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx

from replicatehome import (
    FileOutput,
    OutputResult,
    PredictionSnapshot,
    ResponseValidationError,
    TextResult,
)

from ..helpers import AnyClient, Mode, answer, call, handle, prediction

MODEL = "someone/audio-model"
VERSION = "a" * 64
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


async def read(mode: Mode, file: FileOutput) -> bytes:
    return file.read() if mode == "sync" else await file.aread()


async def save(mode: Mode, file: FileOutput, path: Path) -> Path:
    return file.save(path) if mode == "sync" else await file.asave(path)


async def chunks(mode: Mode, file: FileOutput) -> list[bytes]:
    if mode == "sync":
        return list(file.iter_bytes())
    return [chunk async for chunk in file.aiter_bytes()]


async def finished(client: AnyClient, mock: respx.MockRouter, output: object) -> OutputResult:
    mock.post("/api/prediction").respond(201, json=prediction("starting", model=MODEL))
    mock.get("/api/poll").mock(return_value=answer("succeeded", output, model=MODEL))
    p = await handle(client.predictions.create(f"{MODEL}:{VERSION}", input={"n": 3}))
    result = await call(p.wait())
    assert isinstance(result, OutputResult)
    return result


@pytest.mark.parametrize(
    "output",
    [{"score": 0.5, "labels": ["a"]}, 42, [0.1, 0.2, 0.3], None, ["Hello", " world"]],
)
async def test_a_model_outside_the_catalog_gives_its_output_as_sent(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float], output: object
) -> None:
    result = await finished(client, mock, output)

    assert result.output == output
    assert result.files == ()


async def test_files_in_the_output_download_with_their_content_type(
    client: AnyClient, mode: Mode, mock: respx.MockRouter, sleeps: list[float], tmp_path: Path
) -> None:
    mock.get("https://files.test/a.wav").respond(
        200, content=WAV, headers={"content-type": "audio/wav"}
    )
    output = {"audio": "https://files.test/a.wav", "inline": "data:text/plain;base64,aGk="}
    result = await finished(client, mock, output)
    audio, inline = result.files

    assert audio.content_type is None
    assert await read(mode, audio) == WAV  # an audio file is not refused as "not an image"
    assert audio.content_type == "audio/wav"
    assert await save(mode, audio, tmp_path / "a.wav") == tmp_path / "a.wav"
    assert (tmp_path / "a.wav").read_bytes() == WAV
    assert b"".join(await chunks(mode, audio)) == WAV
    assert await read(mode, inline) == b"hi"
    assert inline.content_type == "text/plain"


async def test_a_file_from_one_client_cannot_be_read_with_the_other_world(
    client: AnyClient, mode: Mode, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    result = await finished(client, mock, ["data:,x"])
    (file,) = result.files

    other_world = file.aread() if mode == "sync" else None
    if other_world is None:
        with pytest.raises(TypeError, match="aread"):
            file.read()
    else:
        with pytest.raises(TypeError, match=r"file\.read"):
            await other_world


async def test_a_hostile_content_type_is_not_kept(
    client: AnyClient, mode: Mode, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.get("https://files.test/x").respond(
        200, content=b"x", headers={"content-type": "a/" + "b" * 5000}
    )
    result = await finished(client, mock, "https://files.test/x")

    assert await read(mode, result.files[0]) == b"x"
    assert result.files[0].content_type is None


async def test_generate_text_on_a_model_whose_output_is_not_text_says_so(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting", model=MODEL))
    mock.get("/api/poll").mock(return_value=answer("succeeded", [0.1, 0.2], model=MODEL))

    with pytest.raises(ResponseValidationError, match="not text"):
        await call(client.generate_text("hi", model=MODEL, version=VERSION))


async def test_generate_text_on_a_text_model_outside_the_catalog_gives_text(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting", model=MODEL))
    mock.get("/api/poll").mock(return_value=answer("succeeded", ["a", "b"], model=MODEL))

    result = await call(client.generate_text("hi", model=MODEL, version=VERSION))

    assert isinstance(result, TextResult)
    assert result.text == "ab"


def test_only_http_and_data_urls_are_files() -> None:
    output = ["ftp://x/a", "file:///etc/passwd", "javascript:x", "/relative"]
    result = OutputResult(PredictionSnapshot(id="p1", status="succeeded", output=output))
    assert result.files == ()
