"""What the emulator's tests share: constants, in-process clients, bodies, events, a webhook
receiver. Fixtures are in ``conftest.py``; `receiver` is defined here, for the integration tests
to import too."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from replicatehome.catalog import MODELS, ModelSpec
from replicatehome.emulator import EmulatorApp
from replicatehome.emulator._requests import MAX_DEPTH

GEMMA, SD3, SDXL, PLAYGROUND = MODELS
BASE = "http://emu.test"
TOKEN = "r8_test_token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"webhook test secret, 32 bytes!!!").decode()
POLL = 0.01
MAX_POLLS = 500  # 5 s of POLL


def asgi_client(app: EmulatorApp, headers: Mapping[str, str] = AUTH) -> httpx.AsyncClient:
    """A client that calls `app` in-process on `BASE`, with a token unless `headers` say else."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE, headers=headers)


# Members of an `input` object that Python's json module accepts, but that no JSON answer can
# carry: NaN and infinities (Starlette renders with allow_nan=False), lone surrogates (they do
# not encode as UTF-8), and nesting past MAX_DEPTH. Shared with the /v1 tests.
BAD_INPUT_MEMBERS = [
    pytest.param(b'"t": NaN', "NaN", id="nan"),
    pytest.param(b'"t": Infinity', "Infinity", id="infinity"),
    pytest.param(b'"t": [-Infinity]', "-Infinity", id="minus-infinity"),
    pytest.param(b'"t": 1e400', "1e400", id="float-overflow"),
    pytest.param(b'"t": {"u": -1E+999}', "-1E+999", id="nested-float-overflow"),
    pytest.param(b'"t": "\\ud800"', "lone surrogate", id="surrogate-value"),
    pytest.param(b'"\\udfff": 1', "lone surrogate", id="surrogate-key"),
    pytest.param(b'"t": ["ok", {"k": "x\\udbff"}]', "lone surrogate", id="nested-surrogate"),
    # json.loads decodes bytes with "surrogatepass": a surrogate encoded raw gets through too.
    pytest.param(b'"t": "\xed\xa0\x80"', "lone surrogate", id="raw-surrogate"),
    pytest.param(b'"t": ' + b"[" * 70 + b"]" * 70, f"more than {MAX_DEPTH}", id="too-deep"),
]

# Whole bodies that are bad before any field is looked at.
BAD_BODIES = [
    pytest.param(b"[" * 100_000, f"more than {MAX_DEPTH}", id="recursion"),
    pytest.param(b"{" * 100_000, f"more than {MAX_DEPTH}", id="recursion-objects"),
    pytest.param(b"NaN", "NaN", id="top-level-nan"),
    pytest.param(b'"\\ud800"', "lone surrogate", id="top-level-surrogate"),
    pytest.param(b"", "not valid JSON", id="empty"),
    pytest.param(b"\xff\xfe\x00", "not valid JSON", id="not-unicode"),
    pytest.param(b"1" * 5000, "not valid JSON", id="int-too-long"),
    pytest.param(b"null", "must be a JSON object", id="null"),
    pytest.param(b'"text"', "must be a JSON object", id="string"),
]


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`data` as a stream without a declared length, so the server has to count."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


# --- /v1 ------------------------------------------------------------------------------------


@dataclass
class Event:
    """One server-sent event, parsed by hand: the tests trust no client's parser."""

    event: str
    id: str
    data: str


def parse_events(lines: list[str]) -> tuple[list[Event], int]:
    """Events from SSE lines (without their line ends), and how many comment lines there were."""
    events: list[Event] = []
    comments = 0
    fields: dict[str, list[str]] = {}
    for line in lines:
        if line == "":
            if fields:
                events.append(
                    Event(fields["event"][0], fields["id"][0], "\n".join(fields.get("data", [])))
                )
            fields = {}
        elif line.startswith(":"):
            comments += 1
        else:
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))
    assert not fields, "the stream ended in the middle of an event"
    return events, comments


def text_of(events: list[Event]) -> str:
    return "".join(event.data for event in events if event.event == "output")


def model_path(spec: ModelSpec) -> str:
    return f"/v1/models/{spec.name}/predictions"


def assert_problem(response: httpx.Response, status: int, detail: str = "") -> dict[str, object]:
    """Check an RFC 7807 answer; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert detail in body["detail"]
    assert body["instance"] == response.request.url.path
    return body


async def create(
    api: httpx.AsyncClient, spec: ModelSpec = GEMMA, prompt: str = "hello", **inputs: object
) -> dict[str, object]:
    response = await api.post(model_path(spec), json={"input": {"prompt": prompt, **inputs}})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def get(api: httpx.AsyncClient, prediction_id: object) -> dict[str, object]:
    response = await api.get(f"/v1/predictions/{prediction_id}")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def events_of(api: httpx.AsyncClient, prediction_id: object) -> list[Event]:
    """The whole stream of a prediction that has ended (the in-process transport buffers)."""
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
    response = await api.get(f"/v1/predictions/{prediction_id}/stream", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-store"
    events, comments = parse_events(response.text.split("\n"))
    assert comments == 0
    assert [int(event.id) for event in events] == list(range(1, len(events) + 1))
    return events


# --- webhooks ---------------------------------------------------------------------------------


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def prediction(self) -> dict[str, object]:
        value: dict[str, object] = json.loads(self.body)
        return value


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that records deliveries and answers `statuses` in turn."""

    server: ThreadingHTTPServer
    deliveries: list[Delivery] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, done: Callable[[list[Delivery]], bool]) -> list[Delivery]:
        for _ in range(MAX_POLLS):
            if done(self.deliveries):
                return list(self.deliveries)
            time.sleep(POLL)
        raise AssertionError(f"never came: {self.deliveries}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    hook = Receiver(server)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            hook.deliveries.append(Delivery(dict(self.headers.items()), body))
            self.send_response(hook.statuses.pop(0) if hook.statuses else 204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()
    thread.join(5)
