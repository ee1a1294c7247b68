"""Replicate's new Python SDK, ``replicate`` 2.0.0b4, run unchanged against the emulator.

Every prediction-related call, each with the SDK's strict response validation on, so a field
of the wrong type or a missing one fails here. The SDK is not in the project's lock (that has
replicate 1.x): ``nox -s peer_v2`` installs it in a venv of its own, and the main suite skips
this module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

replicate = pytest.importorskip("replicate")
if Version(metadata.version("replicate")) < Version("2.0.0b4"):
    pytest.skip("needs replicate 2.x: run `nox -s peer_v2`", allow_module_level=True)

from replicate.lib._predictions_use import use as use_with  # noqa: E402

from replicatehome.catalog import MODELS  # noqa: E402
from replicatehome.emulator import Emulator, emulated_text  # noqa: E402

GEMMA, SD3, SDXL = MODELS[0], MODELS[1], MODELS[2]
OWNER, NAME = GEMMA.name.split("/")
TOKEN = "r8_peer_v2"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"peer-v2-webhook-secret-bytes").decode()
FILES_SECRET = "peer-v2-files-secret"
DEPLOYMENT = "acme/text-deploy"
TEXT = emulated_text(GEMMA.name, "hello")


class StrictReplicate(replicate.Replicate):  # type: ignore[misc]
    """The SDK's client, validating every response: `use()` takes a class and makes its own."""

    def __init__(self, **options: Any) -> None:
        super().__init__(_strict_response_validation=True, max_retries=0, **options)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(
        duration=0.2,
        starting=0.02,
        duration_from_input="seconds",
        api_tokens=frozenset({TOKEN}),
        webhook_secret=WEBHOOK_SECRET,
        webhook_retry_delays=(0.05,),
        files_secret=FILES_SECRET,
        deployments={DEPLOYMENT: GEMMA.name},
    ) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # `use()` builds clients from the environment; the others are given everything.
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    monkeypatch.setenv("REPLICATE_BASE_URL", f"{emu.url}/v1")
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")
    with StrictReplicate() as instance:
        yield instance


@pytest.fixture
async def aclient(client: Any) -> AsyncIterator[Any]:
    async with replicate.AsyncReplicate(
        _strict_response_validation=True, max_retries=0
    ) as instance:
        yield instance


def finished(client: Any, prediction_id: str) -> Any:
    prediction = client.predictions.wait(prediction_id)
    assert prediction.status == "succeeded"
    return prediction


# --- predictions ------------------------------------------------------------------------------


def test_predictions_create_get_wait(client: Any) -> None:
    created = client.predictions.create(
        version=GEMMA.version or "", input={"prompt": "hello"}, cancel_after="1m"
    )
    assert created.status == "starting"
    assert created.deadline is not None
    got = client.predictions.get(prediction_id=created.id)
    assert got.id == created.id
    done = finished(client, created.id)
    assert "".join(done.output) == TEXT
    assert done.logs == "Starting prediction\n"
    assert done.started_at is not None
    assert done.completed_at is not None


def test_models_predictions_create(client: Any) -> None:
    created = client.models.predictions.create(
        model_owner=OWNER, model_name=NAME, input={"prompt": "hello"}, prefer="wait=5"
    )
    assert (created.status, "".join(created.output)) == ("succeeded", TEXT)


def test_deployments_predictions_create(client: Any) -> None:
    owner, name = DEPLOYMENT.split("/")
    created = client.deployments.predictions.create(
        deployment_owner=owner, deployment_name=name, input={"prompt": "hello"}
    )
    assert created.deployment == DEPLOYMENT
    assert "".join(finished(client, created.id).output) == TEXT
    assert client.deployments.get(deployment_owner=owner, deployment_name=name).name == name


def test_predictions_cancel(client: Any) -> None:
    created = client.models.predictions.create(
        model_owner=OWNER, model_name=NAME, input={"prompt": "slow", "seconds": 30}
    )
    canceled = client.predictions.cancel(prediction_id=created.id)
    assert canceled.status == "canceled"


def test_predictions_list_follows_cursors(client: Any) -> None:
    ids = [
        client.models.predictions.create(
            model_owner=OWNER, model_name=NAME, input={"prompt": f"{n}"}
        ).id
        for n in range(101)  # a page holds 100
    ]
    first = client.predictions.list()
    assert [p.id for p in first.results[:3]] == ids[::-1][:3]  # newest first
    assert first.next is not None
    listed = [p.id for p in client.predictions.list()]  # auto-pagination
    assert listed[:101] == ids[::-1]


# --- models -----------------------------------------------------------------------------------


def test_an_invalid_input_is_its_unprocessable_entity_error(client: Any) -> None:
    bad = {"prompt": "a cat", "aspect_ratio": "16x9", "steps": 40}
    with pytest.raises(replicate.UnprocessableEntityError) as created:
        client.predictions.create(version=SD3.version or "", input=bad)
    assert created.value.status_code == 422
    body = created.value.body
    assert body["title"] == "Input validation failed"
    assert [field["field"] for field in body["invalid_fields"]] == [
        "input.aspect_ratio",
        "input.steps",
    ]
    with pytest.raises(replicate.UnprocessableEntityError, match="less than or equal to 28"):
        client.run(SD3.name, input=bad)


def test_models_and_versions(client: Any) -> None:
    model = client.models.get(model_owner=OWNER, model_name=NAME)
    assert model.latest_version is not None
    versions = client.models.versions.list(model_owner=OWNER, model_name=NAME)
    assert [v.id for v in versions.results] == [model.latest_version.id]
    version = client.models.versions.get(
        model_owner=OWNER, model_name=NAME, version_id=model.latest_version.id
    )
    assert version.openapi_schema is not None
    inputs = version.openapi_schema["components"]["schemas"]["Input"]["properties"]
    assert inputs["max_new_tokens"]["minimum"] == 1


# --- files ------------------------------------------------------------------------------------


def test_files_create_get_list_download_delete(client: Any) -> None:
    created = client.files.create(
        content=("notes.txt", b"hello file", "text/plain"), metadata={"ref": "7"}
    )
    assert (created.size, created.content_type) == (10, "text/plain")
    assert created.checksums.sha256 == hashlib.sha256(b"hello file").hexdigest()
    assert client.files.get(file_id=created.id).metadata == {"ref": "7"}
    assert created.id in [f.id for f in client.files.list()]
    expiry = int(time.time()) + 60
    message = f"emulator {created.id} {expiry}".encode()
    key = FILES_SECRET.encode()
    signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    downloaded = client.files.download(
        file_id=created.id, owner="emulator", expiry=expiry, signature=signature
    )
    assert downloaded.read() == b"hello file"
    client.files.delete(file_id=created.id)
    with pytest.raises(replicate.NotFoundError):
        client.files.get(file_id=created.id)


def test_run_uploads_file_inputs(client: Any, tmp_path: Path) -> None:
    path = tmp_path / "in.bin"
    path.write_bytes(b"from a path")
    output = client.run(
        GEMMA.name, input={"prompt": "hello", "a": io.BytesIO(b"in memory"), "b": path}
    )
    assert "".join(output) == TEXT
    prediction = next(iter(client.predictions.list()))
    urls = [prediction.input["a"], prediction.input["b"]]
    uploaded = [client.files.get(file_id=url.rsplit("/", 1)[1]) for url in urls]
    assert [f.size for f in uploaded] == [9, 11]


# --- webhooks ---------------------------------------------------------------------------------


def test_webhooks_default_secret_and_delivery(client: Any) -> None:
    assert client.webhooks.default.secret.get().key == WEBHOOK_SECRET
    received: list[tuple[dict[str, str], bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        created = client.predictions.create(
            version=GEMMA.version or "",
            input={"prompt": "hello"},
            webhook=f"http://127.0.0.1:{server.server_address[1]}/hook",
            webhook_events_filter=["completed"],
        )
        for _ in range(200):
            if received:
                break
            time.sleep(0.02)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    headers, body = received[0]
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    delivered = json.loads(body)
    assert (delivered["id"], delivered["status"]) == (created.id, "succeeded")


# --- run, use, stream -------------------------------------------------------------------------


def test_run_waits_for_the_whole_output_when_wait_runs_out(client: Any) -> None:
    # The hold ends after 1 s, the prediction after 1.5 s: the emulator answers "starting", and
    # the SDK polls rather than return the output it had so far.
    output = client.run(GEMMA.name, input={"prompt": "hello", "seconds": 1.5}, wait=1)
    assert "".join(output) == TEXT


def test_run_by_version_and_images(client: Any) -> None:
    by_version = client.run(f"{GEMMA.name}:{GEMMA.version}", input={"prompt": "hello"})
    assert "".join(by_version) == TEXT
    images = client.run(SDXL.name, input={"prompt": "a cat", "num_outputs": 2})
    assert len(images) == 2
    assert all(str(url).endswith(".png") for url in images)
    [webp] = client.run(SD3.name, input={"prompt": "a cat", "num_outputs": 2})  # SD3 has none
    assert str(webp).endswith(".webp")  # its default output_format


def test_use_and_streaming(client: Any) -> None:
    assert use_with(StrictReplicate, GEMMA.name)(prompt="hello") == TEXT
    assert replicate.use(GEMMA.name)(prompt="hello") == TEXT
    streamed = use_with(StrictReplicate, GEMMA.name, streaming=True)(prompt="hello")
    assert "".join(streamed) == TEXT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # stream() is use(streaming=True)
        assert "".join(replicate.stream(GEMMA.name, input={"prompt": "hello"})) == TEXT


async def test_async_client(aclient: Any) -> None:
    output = await aclient.run(GEMMA.name, input={"prompt": "hello", "seconds": 1.5}, wait=1)
    assert "".join(output) == TEXT
    created = await aclient.models.predictions.create(
        model_owner=OWNER, model_name=NAME, input={"prompt": "hello"}
    )
    done = await aclient.predictions.wait(created.id)
    assert "".join(done.output) == TEXT
    page = await aclient.predictions.list()
    assert page.results[0].id == created.id
    uploaded = await aclient.files.create(content=b"async bytes")
    assert (await aclient.files.get(file_id=uploaded.id)).size == 11
