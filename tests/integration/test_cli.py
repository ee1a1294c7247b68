"""The command line, run in-process against the emulator: output, JSON, exit codes, errors."""

from __future__ import annotations

import io
import json
import logging
import struct
from pathlib import Path

import httpx
import pytest

from replicatehome import __version__
from replicatehome._logs import logger
from replicatehome.cli import main
from replicatehome.cli._inputs import parse_inputs
from replicatehome.emulator import Emulator, Faults, emulated_text
from replicatehome.errors import InputValidationError
from replicatehome.inputs import SDXLLightningInput, StableDiffusion3Input, check_input

from ..helpers import TLS

GEMMA = "google-deepmind/gemma-2b-it"


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the CLI; return its exit status, stdout and stderr."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            status = main(list(argv))
        except SystemExit as exit:  # argparse's own usage errors, --help and --version
            status = int(exit.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_text_streams_to_stdout_and_nothing_else(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    status, out, err = run(capsys, "text", "Write a haiku", "--base-url", emu.url)

    assert status == 0
    assert out == emulated_text(GEMMA, "Write a haiku") + "\n"
    assert err == ""


def test_text_reads_the_prompt_from_stdin_and_prints_once(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    status, out, _ = run(
        capsys, "text", "-", "--no-stream", "--base-url", emu.url, stdin="From stdin\n"
    )

    assert status == 0
    assert out == emulated_text(GEMMA, "From stdin") + "\n"


def test_text_json_is_the_final_prediction_with_parsed_inputs(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    status, out, _ = run(
        capsys,
        "text",
        "hi",
        "--json",
        "--base-url",
        emu.url,
        "--input",
        "max_new_tokens=12",
        "--input",
        "temperature=1",  # a number, though written as an integer
        "--input",
        "top_k=5",
    )

    assert status == 0
    prediction = json.loads(out)
    assert prediction["status"] == "succeeded"
    assert "".join(prediction["output"]) == emulated_text(GEMMA, "hi", max_new_tokens=12)
    assert prediction["input"] == {
        "prompt": "hi",
        "max_new_tokens": 12,
        "temperature": 1.0,
        "top_k": 5,
    }


def test_inputs_are_read_by_their_schema_type(
    capsys: pytest.CaptureFixture[str], emu: Emulator, tmp_path: Path
) -> None:
    target = tmp_path / "fox.png"
    status, out, _ = run(
        capsys,
        *("image", "A fox", "--model", "sdxl", "--base-url", emu.url, "-o", str(target)),
        *("--json", "--input", "width=256", "--input", "height=320"),
        *("--input", "guidance_scale=2", "--input", "scheduler=DDIM"),
        *("--input", "disable_safety_checker=yes", "--input", "seed=7"),
    )

    assert status == 0
    assert json.loads(out)["input"] == {
        "prompt": "A fox",
        "width": 256,
        "height": 320,
        "guidance_scale": 2.0,
        "scheduler": "DDIM",
        "disable_safety_checker": True,
        "seed": 7,
    }
    assert struct.unpack(">II", target.read_bytes()[16:24]) == (256, 320)


def test_a_file_input_takes_a_local_path(
    capsys: pytest.CaptureFixture[str], emu: Emulator, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(8))
    status, out, _ = run(
        capsys,
        *("image", "A fox", "--base-url", emu.url, "--json", "-o", str(tmp_path / "out.webp")),
        *("--input", f"image={photo}", "--input", "prompt_strength=0.5"),
    )

    assert status == 0
    sent = json.loads(out)["input"]
    assert sent["image"].startswith("data:image/png;base64,")  # the homepage takes files inline
    assert sent["prompt_strength"] == 0.5


@pytest.mark.parametrize("command", ["text", "image"])
def test_invalid_inputs_exit_2_with_every_problem_before_any_request(
    capsys: pytest.CaptureFixture[str], emu: Emulator, command: str
) -> None:
    inputs = (
        ["max_new_tokens=many", "temprature=0.2", "top_p=2"]
        if command == "text"
        else ["aspect_ratio=16x9", "steps=40", "output_format=gif"]
    )
    argv = [command, "hi", "--base-url", emu.url]
    for pair in inputs:
        argv += ["--input", pair]

    status, out, err = run(capsys, *argv)

    assert status == 2
    assert out == ""
    model = GEMMA if command == "text" else "stability-ai/stable-diffusion-3"
    with pytest.raises(InputValidationError) as raised:
        check_input(model, {"prompt": "hi", **parse_inputs(inputs, model)})
    assert err == f"replicatehome: error: {raised.value}\n"  # the SDK's own message
    assert len(raised.value.problems) == 3
    assert emu.stats.requests == {}


def test_models_outside_the_catalog_take_json_inputs_unchecked(
    capsys: pytest.CaptureFixture[str], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator runs any owner/name for this test; the CLI checks nothing of its input.
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_cli_test")
    status, _, err = run(
        capsys,
        *("text", "hi", "--base-url", emu.url, "--model", "acme/other"),
        *("--input", 'extra={"a": [1, 2]}', "--input", "stop=</s>"),
    )
    assert status == 3  # the server's 404, not a usage error
    assert "404" in err


def test_models_schema_prints_a_models_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "models", "--schema", "sd-3")
    assert status == 0
    lines = out.splitlines()
    assert "stability-ai/stable-diffusion-3" in lines[0]
    assert lines[1].split() == ["name", "type", "default", "allowed"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert list(rows) == list(StableDiffusion3Input.model_fields)
    assert rows["aspect_ratio"][:2] == ["enum", '"1:1"']
    assert " ".join(rows["aspect_ratio"][2:]) == "1:1, 16:9, 21:9, 3:2, 2:3, 4:5, 5:4, 9:16, 9:21"
    assert rows["steps"] == ["integer", "28", "1", "to", "28"]
    assert rows["seed"] == ["integer"]

    status, out, _ = run(capsys, "models", "--schema", "bytedance/sdxl-lightning-4step", "--json")
    assert status == 0
    fields = json.loads(out)
    assert [f["name"] for f in fields] == list(SDXLLightningInput.model_fields)
    assert fields[2] == {
        "name": "width",
        "type": "integer",
        "default": "1024",
        "allowed": "256 to 1280",
    }
    assert fields[-1] == {
        "name": "disable_safety_checker",
        "type": "boolean",
        "default": "false",
        "allowed": "",
    }

    status, out, err = run(capsys, "models", "--schema", "gpt-5")
    assert (status, out) == (2, "")
    assert "no input schema for 'gpt-5'" in err


def test_image_is_written_byte_identical_and_its_path_printed(
    capsys: pytest.CaptureFixture[str],
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)

    status, out, err = run(capsys, "image", "A dog", "--base-url", emu.url, "--json")
    prediction = json.loads(out)
    first = tmp_path / f"{prediction['id']}.webp"  # SD3's default output_format
    served = httpx.get(prediction["output"][0], verify=TLS).content

    assert status == 0
    assert err == ""
    assert first.read_bytes() == served

    # The same prompt again gets a new id; an existing file is never overwritten.
    first.write_bytes(b"mine")
    (tmp_path / "x").mkdir()
    status, out, _ = run(capsys, "image", "A dog", "--base-url", emu.url, "-o", "x/dog.png")
    assert status == 0
    assert out == "x/dog.png\n"
    assert (tmp_path / "x" / "dog.png").read_bytes() == served
    assert first.read_bytes() == b"mine"


def test_image_to_stdout(capsysbinary: pytest.CaptureFixture[bytes], emu: Emulator) -> None:
    status = main(["image", "A dog", "--base-url", emu.url, "-o", "-", "--model", "sdxl"])

    out = capsysbinary.readouterr().out
    assert status == 0
    assert out.startswith(b"\x89PNG\r\n\x1a\n")


def test_models_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "models")
    assert status == 0
    for name in ("gemma-2b", "sd-3", "sdxl", "playground-v2.5", "stability-ai/stable-diffusion-3"):
        assert name in out

    status, out, _ = run(capsys, "models", "--json")
    rows = json.loads(out)
    assert [row["alias"] for row in rows] == ["gemma-2b", "sd-3", "sdxl", "playground-v2.5"]
    assert [row["default"] for row in rows] == [True, True, False, False]
    assert all(len(row["version"]) == 64 for row in rows)


def test_a_failed_prediction_exits_1_with_the_servers_error(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    emu.faults = Faults(failure_rate=1.0)

    status, _, err = run(capsys, "text", "hi", "--no-stream", "--base-url", emu.url)

    assert status == 1
    assert err.startswith("replicatehome: error: Prediction ")
    assert "failed: " in err
    assert len(err.strip().splitlines()) <= 2


def test_a_timeout_exits_1(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    emu.faults = Faults(never_finish=True)

    status, _, err = run(capsys, "text", "hi", "--base-url", emu.url, "--timeout", "0.3")

    assert status == 1
    assert "timed out" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["text", "hi", "--model", "gpt-5"], "Known models and aliases: "),
        (["text", "hi", "--model", "sdxl"], "is an image model: use 'replicatehome image'"),
        (["image", "hi", "--model", "gemma-2b"], "is an text model"),
        (["text", "hi", "--input", "novalue"], "--input takes KEY=VALUE"),
        (["text", "-"], "the prompt is empty"),
        (["text"], "the following arguments are required: PROMPT"),
        (["text", "hi", "--timeout", "-1"], "must be a positive number"),
        (["nope"], "invalid choice"),
        (["serve", "--rate-limit-rate", "0.8", "--drop-rate", "0.8"], "must not exceed 1"),
    ],
)
def test_usage_errors_exit_2_before_any_request(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = (
        run(capsys, *argv, "--base-url", "http://127.0.0.1:9")
        if argv[0] in ("text", "image") and len(argv) > 1
        else run(capsys, *argv)
    )

    assert status == 2
    assert message in err
    assert out == ""


def test_an_unreachable_server_exits_3_after_its_retries(
    capsys: pytest.CaptureFixture[str], sleeps: list[float]
) -> None:
    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused at once.
    status, _, err = run(capsys, "text", "hi", "--base-url", "http://127.0.0.1:9")

    assert status == 3
    assert "Is the server at the base URL up" in err
    assert len(sleeps) == 2  # the back-off before each of the two retries by default

    sleeps.clear()
    status, _, _ = run(capsys, "text", "hi", "--base-url", "http://127.0.0.1:9", "--retries", "0")
    assert (status, sleeps) == (3, [])


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_retries_must_be_a_whole_number(capsys: pytest.CaptureFixture[str], value: str) -> None:
    status, _, err = run(capsys, "text", "hi", "--retries", value)

    assert status == 2
    assert f"must be a whole number, 0 or more, not {value}" in err


def test_an_api_error_exits_3(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    emu.faults = Faults(server_error_rate=1.0, routes=frozenset({"create"}))

    status, _, err = run(capsys, "image", "hi", "--base-url", emu.url)

    assert status == 3
    assert "HTML error page" in err


def test_version_and_help_with_examples_on_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "--version")
    assert (status, out) == (0, f"replicatehome {__version__}\n")
    for command in ([], ["text"], ["image"], ["models"], ["serve"]):
        status, out, _ = run(capsys, *command, "--help")
        assert status == 0
        assert "examples:" in out
    status, out, _ = run(capsys, "demo", "--help")
    assert "emulator" in out


def test_every_command_reads_replicatehome_log_even_without_a_client(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setenv("REPLICATEHOME_LOG", "debug")

    assert run(capsys, "models")[0] == 0
    assert logger.level == logging.DEBUG
    assert len(logger.handlers) == 1


def test_debug_shows_the_traceback(sleeps: list[float]) -> None:
    from replicatehome import APIConnectionError

    with pytest.raises(APIConnectionError):
        main(["--debug", "text", "hi", "--base-url", "http://127.0.0.1:9"])


def test_demo_runs_the_main_job(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, _ = run(capsys, "demo", "--output-dir", str(tmp_path), "--duration", "0.2")

    (image,) = tmp_path.iterdir()
    assert status == 0
    assert image.read_bytes().startswith(b"\x89PNG")
    assert emulated_text(GEMMA, "Write a haiku about the sea") in out
    assert str(image) in out.replace("\n", "")
    assert "first token after" in out


def test_the_official_backend_streams_and_lets_the_server_judge_other_models(
    capsys: pytest.CaptureFixture[str], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_cli_test")

    status, out, _ = run(capsys, "text", "Hello", "--base-url", emu.url)
    assert status == 0
    assert out == emulated_text(GEMMA, "Hello") + "\n"
    assert emu.stats.requests["stream"] == 1

    # Any owner/name may run on /v1: not a usage error here, the server's 404 instead.
    status, _, err = run(capsys, "text", "Hello", "--base-url", emu.url, "--model", "a/b")
    assert status == 3
    assert "404" in err
    assert "r8_cli_test" not in err
