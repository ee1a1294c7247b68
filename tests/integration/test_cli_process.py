"""The command as a real process: `serve` over real sockets, a terminal, pipes and Ctrl-C."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from replicate.client import Client as ReplicateClient

from replicatehome.catalog import resolve
from replicatehome.emulator import Emulator, Faults, emulated_text

from ..helpers import TLS

COMMAND = [sys.executable, "-m", "replicatehome"]


def _as_from_a_terminal() -> None:
    # A shell starts background jobs with Ctrl-C ignored, and children inherit that (Python then
    # installs no KeyboardInterrupt): give the CLI the default, as a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`replicatehome serve` in a child process; stopped with Ctrl-C (SIGINT) afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port), "--duration", "0.2", "--starting", "0.02"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/api/poll", timeout=0.5, verify=TLS)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("replicatehome serve did not start in 10 s")
    yield url, process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)


def poll_until_done(http: httpx.Client, url: str, prediction_id: str) -> dict[str, object]:
    for _ in range(100):
        body: dict[str, object] = http.get(f"{url}/api/poll", params={"id": prediction_id}).json()
        if body["status"] in ("succeeded", "failed", "canceled"):
            return body
        time.sleep(0.05)
    raise AssertionError("prediction did not finish within 100 polls")


def test_a_client_written_from_the_protocol_alone_works_against_serve(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    url, process = served
    gemma, sdxl = resolve("gemma-2b"), resolve("sdxl")
    with httpx.Client(verify=TLS, headers={"Origin": "https://replicate.com"}) as http:
        created = http.post(
            f"{url}/api/prediction",
            json={"model": gemma.name, "version": gemma.version, "input": {"prompt": "Hi"}},
        )
        assert created.status_code in (200, 201)
        text = poll_until_done(http, url, created.json()["id"])
        assert text["status"] == "succeeded"
        assert isinstance(text["output"], list)
        assert "".join(str(token) for token in text["output"]) == emulated_text(gemma.name, "Hi")

        created = http.post(
            f"{url}/api/prediction",
            json={"model": sdxl.name, "version": sdxl.version, "input": {"prompt": "A dog"}},
        )
        image = poll_until_done(http, url, created.json()["id"])
        assert isinstance(image["output"], list)
        png = http.get(str(image["output"][0]))
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")

        assert http.get(f"{url}/api/poll", params={"id": "nope"}).status_code == 404

    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    log = out + err
    assert process.returncode == 0
    assert "POST /api/prediction" in log
    assert "Traceback" not in log


def test_replicate_python_runs_streams_and_waits_against_serve(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    url, _ = served
    gemma = "google-deepmind/gemma-2b-it"
    client = ReplicateClient(api_token="r8_test", base_url=url)
    client.poll_interval = 0.05
    try:
        assert "".join(client.run(gemma, input={"prompt": "Hi"})) == emulated_text(gemma, "Hi")
        streamed = "".join(str(event) for event in client.stream(gemma, input={"prompt": "Yo"}))
        assert streamed == emulated_text(gemma, "Yo")
        prediction = client.predictions.create(model=gemma, input={"prompt": "Hey"})
        prediction.wait()
        assert prediction.status == "succeeded"
        assert isinstance(prediction.output, list)
        assert "".join(prediction.output) == emulated_text(gemma, "Hey")
    finally:
        client._client.close()  # replicate-python never closes its httpx client


def test_piped_output_is_exactly_the_text(emu: Emulator) -> None:
    done = subprocess.run(
        [*COMMAND, "text", "-", "--base-url", emu.url],
        input="Piped prompt\n",
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 0
    assert done.stdout == emulated_text("google-deepmind/gemma-2b-it", "Piped prompt") + "\n"
    assert done.stderr == ""


def read_until_exit(fd: int, process: subprocess.Popen[bytes], seconds: float) -> bytes:
    """Everything written to the pseudo-terminal until the process exits (bounded)."""
    output = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            output += chunk
        elif process.poll() is not None:
            break
    return output


def test_a_terminal_sees_a_live_status_line_that_is_cleaned_up(tmp_path: object) -> None:
    # Long enough that a poll sees "processing" even on a loaded machine: polls are 0.5 s apart,
    # so three of them fall within it, the first 0.4 s after it begins.
    with Emulator(duration=1.5, starting=0.1) as emu:
        leader, follower = pty.openpty()
        process = subprocess.Popen(
            [*COMMAND, "image", "A dog", "--base-url", emu.url, "-o", os.devnull],
            stdout=subprocess.PIPE,
            stderr=follower,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"},
        )
        os.close(follower)
        screen = read_until_exit(leader, process, 30)
        stdout, _ = process.communicate(timeout=10)
        os.close(leader)

    assert process.returncode == 0
    assert stdout == f"{os.devnull}\n".encode()
    assert b"Generating image" in screen
    assert b"processing" in screen
    assert b"polls" in screen
    # The spinner hides the cursor while it runs; at the end the cursor is back and the line
    # erased, so the terminal is left as it was found.
    assert b"\x1b[?25l" in screen
    assert b"\x1b[?25h" in screen
    assert screen.endswith(b"\x1b[2K")


def test_ctrl_c_stops_cleanly_with_status_130() -> None:
    with Emulator(duration=0.2, faults=Faults(never_finish=True)) as emu:
        process = subprocess.Popen(
            [*COMMAND, "text", "Hi", "--base-url", emu.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_as_from_a_terminal,
        )
        for _ in range(200):
            if emu.stats.requests.get("poll", 0) >= 2:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)

    assert process.returncode == 130
    assert "Interrupted" in stderr
    assert "Traceback" not in stderr


ASK = "try: main({})\nexcept SystemExit: pass"


@pytest.mark.parametrize(
    "statement",
    [
        "import replicatehome",
        f"from replicatehome.cli import main\n{ASK.format(['--version'])}",
        f"from replicatehome.cli import main\n{ASK.format(['text', '--help'])}",
    ],
    ids=["import", "version", "help"],
)
def test_importing_the_sdk_or_asking_the_cli_for_help_loads_nothing_heavy(statement: str) -> None:
    # What a first call needs (httpx, pydantic, tenacity) loads with the first name it uses.
    code = (
        f"import sys\n{statement}\n"
        "heavy = {'rich', 'click', 'pygments', 'starlette', 'hypercorn', 'uvicorn', 'httpx', "
        "'pydantic', 'tenacity'}\n"
        "loaded = sorted(heavy & {name.split('.')[0] for name in sys.modules})\n"
        "ours = sorted(n for n in sys.modules if n.startswith(('replicatehome.cli', "
        "'replicatehome.emulator')))\n"
        "print(loaded, ours if statement == 'import replicatehome' else [])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"statement = {statement!r}\n{code}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.strip().splitlines()[-1] == "[] []"


def test_a_script_using_only_the_sync_client_never_loads_asyncio() -> None:
    # asyncio is a sixth of a cold start's imports: only AsyncClient needs it.
    code = (
        "import sys\nfrom replicatehome import Client\n"
        "with Client(base_url=sys.argv[1]) as client:\n"
        "    client.predictions.create('gemma-2b', input={'prompt': 'hi'}).wait()\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'asyncio'))\n"
    )
    with Emulator(duration=0.05, starting=0.0) as emu:
        done = subprocess.run(
            [sys.executable, "-c", code, emu.url], capture_output=True, text=True, timeout=30
        )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_ctrl_c_cancels_the_remote_prediction_on_the_official_api() -> None:
    with Emulator(duration=0.2, faults=Faults(never_finish=True)) as emu:
        process = subprocess.Popen(
            [*COMMAND, "text", "Hi", "--base-url", emu.url, "--no-stream", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "REPLICATE_API_TOKEN": "r8_cli_test"},
            preexec_fn=_as_from_a_terminal,
        )
        for _ in range(200):
            if emu.stats.requests.get("stream", 0) + emu.stats.requests.get("poll", 0) >= 1:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
        cancels = emu.stats.requests.get("cancel", 0)

    assert process.returncode == 130
    assert "Canceling prediction" in stderr
    assert "Traceback" not in stderr
    assert cancels == 1
