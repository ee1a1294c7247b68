"""Files in a prediction's input, through both clients: uploaded, or inline as data: URIs."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import io
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from http import HTTPStatus
from pathlib import Path
from typing import Literal

import httpx
import pytest
import respx

import replicatehome._file_inputs
from replicatehome import (
    APIStatusError,
    InputFileError,
    InputFileTooLargeError,
    ReplicateHomeError,
    ResponseValidationError,
    UnsupportedFeatureError,
)
from replicatehome._file_inputs import (
    MAX_DATA_URI_BYTES,
    MAX_UPLOAD_BYTES,
    FileEncoding,
    InputFile,
    fill,
    read_files,
)
from replicatehome._protocols.homepage import HomepageProtocol

from ..helpers import BASE_URL, TOKEN, AnyClient, Mode, call, close, collect, handle, make_client

MODEL = "acme/any-model:v1"
"""A model given with its version: both backends post it to the same route whatever the catalog."""
FILE_URL = "https://api.replicate.com/v1/files/cneqzikepnug6xezperrr4z55o"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
OUTPUT = ["https://replicate.delivery/out.png"]
"""An output every result type accepts, so that each call ends after its create."""

Method = Literal["create", "generate_text", "stream_text", "generate_image"]
METHODS: tuple[Method, ...] = ("create", "generate_text", "stream_text", "generate_image")


def uploaded(url: object = FILE_URL) -> dict[str, object]:
    """A file object as ``POST /v1/files`` answers it (the OpenAPI schema's fields)."""
    return {
        "id": "cneqzikepnug6xezperrr4z55o",
        "content_type": "image/png",
        "size": len(PNG),
        "checksums": {"sha256": "0" * 64},
        "metadata": {},
        "created_at": "2026-01-01T00:00:00Z",
        "expires_at": "2026-01-02T00:00:00Z",
        "urls": {"get": url},
    }


def created() -> dict[str, object]:
    return {"id": "p1", "status": "succeeded", "output": OUTPUT}


def sent_input(route: respx.Route, index: int = -1) -> dict[str, object]:
    """The `input` of a create request the route received."""
    body = json.loads(route.calls[index].request.content)
    assert isinstance(body, dict)
    value = body["input"]
    assert isinstance(value, dict)
    return value


def parts(request: httpx.Request) -> dict[str, tuple[str | None, str, bytes]]:
    """The parts of a multipart/form-data request: name -> (filename, content type, bytes)."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    found = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(payload, bytes)
        found[name] = (part.get_filename(), part.get_content_type(), payload)
    return found


def decoded(uri: object) -> tuple[str, bytes]:
    """The type and bytes of a ``data:<type>;base64,...`` URI."""
    assert isinstance(uri, str)
    head, _, payload = uri.partition(",")
    assert head.startswith("data:")
    assert head.endswith(";base64")
    return head[5:-7], base64.b64decode(payload, validate=True)


async def run(
    client: AnyClient, method: Method, file: object, file_encoding: FileEncoding | None = None
) -> None:
    """Make `method` send `file` as the model input ``image``."""
    if method == "create":
        await handle(
            client.predictions.create(
                MODEL, input={"prompt": "x", "image": file}, file_encoding=file_encoding
            )
        )
    elif method == "stream_text":
        await collect(
            client.stream_text("x", model=MODEL, file_encoding=file_encoding, input={"image": file})
        )
    elif method == "generate_text":
        await call(
            client.generate_text(
                "x", model=MODEL, file_encoding=file_encoding, input={"image": file}
            )
        )
    else:
        await call(
            client.generate_image(
                "x", model=MODEL, file_encoding=file_encoding, input={"image": file}
            )
        )


@pytest.fixture
async def official(mode: Mode) -> AsyncIterator[AnyClient]:
    """A client of the current mode on the official backend, uploading files (the default)."""
    client = make_client(mode, api_token=TOKEN)
    yield client
    await close(client)


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    return path


@pytest.fixture
def opened() -> Iterator[ExitStack]:
    """Closes the files a test opens."""
    with ExitStack() as stack:
        yield stack


Source = Callable[[Path, ExitStack], object]
"""Makes a file input from a path to a PNG; files it opens go on the stack, to be closed."""
SOURCES: list[tuple[str, Source, str, str]] = [
    # (what, how to make it, the filename sent, the content type sent)
    ("Path", lambda path, _: path, "cat.png", "image/png"),
    (
        "binary file",
        lambda path, stack: stack.enter_context(path.open("rb")),
        "cat.png",
        "image/png",
    ),
    ("BytesIO", lambda path, _: io.BytesIO(PNG), "file", "application/octet-stream"),
    ("bytes", lambda path, _: PNG, "file", "application/octet-stream"),
    ("bytearray", lambda path, _: bytearray(PNG), "file", "application/octet-stream"),
    ("memoryview", lambda path, _: memoryview(PNG), "file", "application/octet-stream"),
]


@pytest.mark.parametrize(
    ("make", "filename", "content_type"),
    [pytest.param(make, name, kind, id=what) for what, make, name, kind in SOURCES],
)
async def test_each_kind_of_file_is_uploaded_and_replaced_by_its_url(
    official: AnyClient,
    mock: respx.MockRouter,
    png: Path,
    opened: ExitStack,
    make: Source,
    filename: str,
    content_type: str,
) -> None:
    upload = mock.post("/v1/files").respond(201, json=uploaded())
    create = mock.post("/v1/predictions").respond(201, json=created())

    await run(official, "create", make(png, opened))

    request = upload.calls[0].request
    assert parts(request) == {"content": (filename, content_type, PNG)}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent_input(create) == {"prompt": "x", "image": FILE_URL}


@pytest.mark.parametrize(
    ("make", "content_type"),
    [pytest.param(make, kind, id=what) for what, make, _, kind in SOURCES],
)
async def test_each_kind_of_file_is_inlined_as_a_data_uri(
    mode: Mode,
    mock: respx.MockRouter,
    png: Path,
    opened: ExitStack,
    make: Source,
    content_type: str,
) -> None:
    create = mock.post("/v1/predictions").respond(201, json=created())
    upload = mock.post("/v1/files").respond(201, json=uploaded())
    client = make_client(mode, api_token=TOKEN, file_encoding="data-uri")

    try:
        await run(client, "create", make(png, opened))
    finally:
        await close(client)

    assert decoded(sent_input(create)["image"]) == (content_type, PNG)
    assert not upload.called


async def test_files_nested_anywhere_are_sent_and_everything_else_untouched(
    official: AnyClient, mock: respx.MockRouter, png: Path
) -> None:
    urls = [f"https://api.replicate.com/v1/files/f{n}" for n in range(4)]
    upload = mock.post("/v1/files").mock(
        side_effect=[httpx.Response(201, json=uploaded(url)) for url in urls]
    )
    create = mock.post("/v1/predictions").respond(201, json=created())
    plain = {"path": str(png), "n": [1, 2.5, None, True], "deep": {"empty": []}}

    await handle(
        official.predictions.create(
            MODEL,
            input={
                "first": png,
                "list": [b"one", "two", (io.BytesIO(b"three"), 3)],
                "dict": {"inner": {"file": bytearray(b"four")}},
                **plain,
            },
        )
    )

    # Depth first, in the input's order; a string is a string, even one that names a file.
    assert [parts(call.request)["content"][2] for call in upload.calls] == [
        PNG,
        b"one",
        b"three",
        b"four",
    ]
    assert sent_input(create) == {
        "first": urls[0],
        "list": [urls[1], "two", [urls[2], 3]],
        "dict": {"inner": {"file": urls[3]}},
        **plain,
    }


@pytest.mark.parametrize("method", METHODS)
async def test_the_client_option_and_a_per_call_override(
    mode: Mode, mock: respx.MockRouter, method: Method
) -> None:
    upload = mock.post("/v1/files").respond(201, json=uploaded())
    create = mock.post("/v1/predictions").respond(201, json=created())
    inline = make_client(mode, api_token=TOKEN, file_encoding="data-uri")
    uploading = make_client(mode, api_token=TOKEN)

    try:
        await run(inline, method, b"a")  # the client's choice
        await run(inline, method, b"b", file_encoding="url")  # overridden for one call
        await run(uploading, method, b"c", file_encoding="data-uri")
        await run(uploading, method, b"d")
    finally:
        await close(inline)
        await close(uploading)

    images = [sent_input(create, n)["image"] for n in range(4)]
    assert decoded(images[0])[1] == b"a"
    assert decoded(images[2])[1] == b"c"
    assert images[1] == images[3] == FILE_URL
    assert [parts(call.request)["content"][2] for call in upload.calls] == [b"b", b"d"]
    # An SDK option is never a model input.
    assert all("file_encoding" not in sent_input(create, n) for n in range(4))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("file_encoding", ["url", "data-uri", None])
async def test_the_homepage_always_takes_files_inline(
    client: AnyClient,
    mock: respx.MockRouter,
    png: Path,
    method: Method,
    file_encoding: FileEncoding | None,
) -> None:
    create = mock.post("/api/prediction").respond(201, json=created())
    upload = mock.post("/v1/files").respond(201, json=uploaded())

    await run(client, method, png, file_encoding=file_encoding)

    assert decoded(sent_input(create)["image"]) == ("image/png", PNG)
    assert not upload.called


async def test_a_file_over_the_upload_cap_sends_nothing(
    official: AnyClient, mock: respx.MockRouter, tmp_path: Path
) -> None:
    upload = mock.post("/v1/files").respond(201, json=uploaded())
    create = mock.post("/v1/predictions").respond(201, json=created())
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as file:
        file.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: its size is known without reading it

    # Its size, from the file system: it was refused before being read.
    size = r"input\['list'\]\[1\] holds 104,857,601 bytes"
    with pytest.raises(InputFileTooLargeError, match=size) as caught:
        await handle(official.predictions.create(MODEL, input={"list": [b"small", huge]}))

    assert caught.value.limit == MAX_UPLOAD_BYTES
    assert caught.value.where == "input['list'][1]"
    assert isinstance(caught.value, ValueError)
    assert not upload.called  # not even the small file before it
    assert not create.called


@pytest.mark.parametrize("method", METHODS)
async def test_a_file_over_the_data_uri_cap_sends_nothing(
    client: AnyClient, mock: respx.MockRouter, method: Method
) -> None:
    create = mock.post("/api/prediction").respond(201, json=created())

    with pytest.raises(InputFileTooLargeError, match="10 MiB") as caught:
        await run(client, method, bytes(MAX_DATA_URI_BYTES + 1))

    assert caught.value.limit == MAX_DATA_URI_BYTES
    assert not create.called


class Endless:
    """A binary stream that never ends, counting what was read of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int) -> bytes:
        self.read_bytes += size
        return bytes(size)


@pytest.mark.parametrize("file_encoding", ["url", "data-uri"])
async def test_a_stream_is_read_no_further_than_its_cap(
    official: AnyClient,
    mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    file_encoding: FileEncoding,
) -> None:
    monkeypatch.setattr(replicatehome._file_inputs, "MAX_UPLOAD_BYTES", 3000)
    monkeypatch.setattr(replicatehome._file_inputs, "MAX_DATA_URI_BYTES", 2000)
    route = mock.route()
    stream = Endless()

    with pytest.raises(InputFileTooLargeError, match="holds more than") as caught:
        await run(official, "create", stream, file_encoding=file_encoding)

    assert stream.read_bytes == caught.value.limit + 1
    assert not route.called


class NoneReader:
    """A non-blocking stream with nothing to read."""

    def read(self, size: int) -> None:
        return None


class TextReader:
    """A file-like object, not an io class, that reads text."""

    def read(self, size: int) -> str:
        return "text"


class SizeLess:
    """An object whose read() takes no size."""

    def read(self) -> bytes:
        return b"all"


def closed_file(path: Path, _: ExitStack) -> object:
    file = path.open("rb")
    file.close()
    return file


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda path, _: path.parent / "missing.png", "No such file", id="missing"),
        pytest.param(lambda path, _: path.parent, "Is a directory", id="directory"),
        pytest.param(
            lambda path, stack: stack.enter_context(path.open()),
            "opened in text mode",
            id="text-mode",
        ),
        pytest.param(lambda path, _: io.StringIO("text"), "opened in text mode", id="StringIO"),
        pytest.param(lambda path, _: TextReader(), "opened in text mode", id="reads-text"),
        pytest.param(closed_file, "closed file", id="closed"),
        pytest.param(lambda path, _: NoneReader(), "returned NoneType", id="non-blocking"),
        pytest.param(lambda path, _: SizeLess(), "cannot be read", id="read-without-size"),
    ],
)
@pytest.mark.parametrize("method", METHODS)
async def test_a_file_that_cannot_be_read_sends_nothing(
    official: AnyClient,
    mock: respx.MockRouter,
    png: Path,
    opened: ExitStack,
    make: Source,
    message: str,
    method: Method,
) -> None:
    route = mock.route()

    with pytest.raises(InputFileError, match=message) as caught:
        await run(official, method, make(png, opened))

    assert caught.value.where == "input['image']"
    assert isinstance(caught.value, ValueError)
    assert not route.called


async def test_a_stream_text_call_reads_its_files_when_called(
    official: AnyClient, mock: respx.MockRouter, tmp_path: Path
) -> None:
    route = mock.route()

    with pytest.raises(InputFileError, match="No such file"):
        # Not iterated.
        official.stream_text("x", model=MODEL, input={"image": tmp_path / "missing.png"})

    assert not route.called


class CountingReader(io.BytesIO):
    """A BytesIO that counts the calls to its read()."""

    reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.reads += 1
        return super().read(size)


@pytest.mark.parametrize("method", METHODS)
async def test_a_file_object_is_read_once(
    official: AnyClient, mock: respx.MockRouter, method: Method
) -> None:
    upload = mock.post("/v1/files").respond(201, json=uploaded())
    mock.post("/v1/predictions").respond(201, json=created())
    stream = CountingReader(PNG)

    await run(official, method, stream)

    assert stream.reads == 2  # the bytes, then the end
    assert parts(upload.calls[0].request)["content"][2] == PNG


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(201, json={"id": "f1"}), id="no-urls"),
        pytest.param(httpx.Response(201, json={"id": "f1", "urls": {}}), id="no-urls.get"),
        pytest.param(httpx.Response(201, json=uploaded(None)), id="null-url"),
        pytest.param(httpx.Response(201, json=uploaded(123)), id="number-url"),
        pytest.param(httpx.Response(201, json=uploaded("file:///etc/passwd")), id="file-url"),
        pytest.param(httpx.Response(201, json=uploaded("javascript:alert(1)")), id="js-url"),
        pytest.param(httpx.Response(201, json=uploaded("/v1/files/f1")), id="relative-url"),
        pytest.param(
            httpx.Response(201, json=uploaded("https://x.test/" + "a" * 70_000)), id="long-url"
        ),
        pytest.param(httpx.Response(201, text="<html>ok</html>"), id="html"),
        pytest.param(httpx.Response(201, json=[FILE_URL]), id="array"),
        pytest.param(httpx.Response(201, content=b""), id="empty"),
    ],
)
async def test_a_hostile_upload_answer_is_a_typed_error_and_no_create(
    official: AnyClient, mock: respx.MockRouter, answer: httpx.Response
) -> None:
    mock.post("/v1/files").mock(return_value=answer)
    create = mock.post("/v1/predictions").respond(201, json=created())

    with pytest.raises(ResponseValidationError):
        await run(official, "create", b"data")

    assert not create.called


async def test_a_failed_upload_is_retried_and_a_refused_one_is_not(
    official: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    upload = mock.post("/v1/files").mock(
        side_effect=[
            httpx.Response(503, text="<html>busy</html>"),
            httpx.ReadTimeout("no answer"),  # may have arrived: a spare copy costs nothing
            httpx.Response(201, json=uploaded()),
            httpx.Response(413, json={"detail": "Files must be less than 100MB in size"}),
        ]
    )
    create = mock.post("/v1/predictions").respond(201, json=created())

    await run(official, "create", b"data")
    with pytest.raises(APIStatusError, match="less than 100MB") as caught:
        await run(official, "create", b"data")

    assert caught.value.status_code == 413
    assert upload.call_count == 4
    assert [parts(call.request)["content"][2] for call in upload.calls] == [b"data"] * 4
    assert len(sleeps) == 2
    assert create.call_count == 1


async def test_an_upload_redirected_elsewhere_keeps_its_body_but_not_the_token(
    official: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/v1/files").respond(307, headers={"Location": "https://uploads.test/put"})
    elsewhere = mock.post(url="https://uploads.test/put").respond(201, json=uploaded())
    create = mock.post("/v1/predictions").respond(201, json=created())

    await run(official, "create", b"data")

    request = elsewhere.calls[0].request
    assert "Authorization" not in request.headers
    assert parts(request)["content"][2] == b"data"
    assert create.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_unknown_file_encoding_is_refused(mode: Mode) -> None:
    with pytest.raises(ValueError, match="file_encoding must be 'url' or 'data-uri'"):
        make_client(mode, file_encoding="base64")


async def test_an_unknown_per_call_file_encoding_sends_nothing(
    official: AnyClient, mock: respx.MockRouter
) -> None:
    route = mock.route()

    with pytest.raises(ValueError, match="file_encoding must be") as caught:
        await run(official, "create", b"x", file_encoding="base64")  # type: ignore[arg-type]

    assert not isinstance(caught.value, ReplicateHomeError)  # the caller's own mistake
    assert not route.called


# --- read_files and fill, as plain values --------------------------------------------------


def test_names_are_cut_to_the_apis_limit_keeping_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / ("é" * 120 + ".png")  # 244 bytes of UTF-8: under the limit
    path.write_bytes(PNG)
    long_name = io.BytesIO(PNG)
    long_name.name = "x" * 300 + ".tar.gz"

    _, files = read_files({"a": path, "b": long_name}, upload=True)

    assert files[0].filename == path.name
    assert files[0].content_type == "image/png"
    assert files[1].filename == "x" * 248 + ".tar.gz"
    assert files[1].content_type == "application/octet-stream"  # gzip, not a tar


def test_an_input_without_files_is_passed_on_as_given() -> None:
    nested = {"b": [1, "two", (3,), HTTPStatus.OK]}  # an int subclass is no file either

    read, files = read_files({"a": "cat.png", "nested": nested}, upload=True)

    assert files == []
    assert read["nested"] is nested


def test_an_input_that_contains_itself_is_refused() -> None:
    loop: list[object] = [b"x"]
    loop.append(loop)

    with pytest.raises(ValueError, match=r"input\['a'\]\[1\] contains itself"):
        read_files({"a": loop}, upload=False)


def test_files_read_once_are_filled_in_by_identity() -> None:
    read, files = read_files({"a": [b"same", b"same"]}, upload=False)

    assert files[0] is not files[1]
    assert all(isinstance(file, InputFile) for file in files)
    names = {files[0]: "first", files[1]: "second"}
    assert fill(read, names.__getitem__) == {"a": ["first", "second"]}


def test_the_homepage_protocol_takes_files_only_inline() -> None:
    protocol = HomepageProtocol(BASE_URL, httpx.Headers())

    assert not protocol.can_upload
    with pytest.raises(UnsupportedFeatureError, match="inline as data: URIs"):
        protocol.upload_request(InputFile(PNG, "cat.png", "image/png", "input['image']"))


def test_a_flat_input_of_text_and_numbers_is_a_copy_without_files() -> None:
    given = {"prompt": "hi", "n": 3, "t": 0.5, "on": True, "none": None}

    read, files = read_files(given, upload=False)

    assert read == given
    assert read is not given
    assert files == []
