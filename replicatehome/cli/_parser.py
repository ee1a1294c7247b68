"""The command line's grammar: commands, options, help texts and examples."""

from __future__ import annotations

import argparse

from .._backends import BACKEND_NAMES
from .._version import __version__
from ..catalog import DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL

__all__ = ["build_parser"]

_DESCRIPTION = """\
Generate text and images with the models behind Replicate's home page.

commands:
  text     stream generated text to stdout
  image    generate an image and save it
  models   list the models and their aliases
  serve    run the local emulator of the service
  demo     run the SDK's main job against the built-in emulator
"""

_EXAMPLES = """\
examples:
  replicatehome text "Write a haiku about the sea"
  echo "Tell a story" | replicatehome text - --model gemma-2b --input max_new_tokens=200
  replicatehome image "A dog in space" --model sdxl -o dog.png
  replicatehome models --json
  replicatehome serve --port 8000 --failure-rate 0.1

environment:
  REPLICATE_API_TOKEN      a Replicate API token: selects the official API (never pass it as a flag)
  REPLICATEHOME_BASE_URL   the server to talk to (default: the backend's own)
  REPLICATEHOME_LOG        debug or info: log requests to stderr

exit status: 0 ok, 1 prediction failed, canceled or timed out, 2 usage error,
             3 API or connection error, 130 interrupted
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, not {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split(","))


def _seconds(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(item) for item in text.split(",") if item)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be numbers of seconds, not {text}") from None


def _deployments(text: str) -> dict[str, str]:
    pairs = [item.partition("=") for item in text.split(",") if item]
    if not all(equals for _, equals, _ in pairs):
        raise argparse.ArgumentTypeError(f"must be NAME=MODEL pairs, not {text}")
    return {name: model for name, _, model in pairs}


def _generation_options(command: argparse.ArgumentParser, default_model: str) -> None:
    command.add_argument("prompt", metavar="PROMPT", help="the prompt; - reads it from stdin")
    command.add_argument(
        "-m",
        "--model",
        default=default_model,
        help=f"model name or alias (default {default_model})",
    )
    command.add_argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model input, repeatable; VALUE is read as the field's type (see models "
        "--schema), checked before any request",
    )
    command.add_argument("--json", action="store_true", help="print the final prediction as JSON")
    command.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        help="the protocol (default: official when $REPLICATE_API_TOKEN is set, else homepage)",
    )
    command.add_argument("--base-url", help="the server (default $REPLICATEHOME_BASE_URL)")
    command.add_argument(
        "--timeout", type=_positive, help="seconds to wait for the prediction (default 300)"
    )
    command.add_argument(
        "--retries",
        type=_count,
        metavar="N",
        help="retries of a request the server throttled, refused or failed (default 2)",
    )
    command.add_argument("-q", "--quiet", action="store_true", help="show no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    """The ``replicatehome`` argument parser with all its commands."""
    parser = argparse.ArgumentParser(
        prog="replicatehome",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"replicatehome {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    text = commands.add_parser(
        "text",
        help="stream generated text to stdout",
        description="Generate text and stream it to stdout as it arrives.",
        epilog='examples:\n  replicatehome text "Write a haiku"\n'
        "  cat question.txt | replicatehome text - --no-stream --input temperature=0.2\n",
        formatter_class=_Formatter,
    )
    _generation_options(text, DEFAULT_TEXT_MODEL)
    text.add_argument("--no-stream", action="store_true", help="print the text once, at the end")

    image = commands.add_parser(
        "image",
        help="generate an image and save it",
        description="Generate an image, save it, and print the path written.",
        epilog='examples:\n  replicatehome image "A dog in space"\n'
        '  replicatehome image "A cat" --model sdxl -o cat.png\n'
        '  replicatehome image "A cat" -o - > cat.webp\n',
        formatter_class=_Formatter,
    )
    _generation_options(image, DEFAULT_IMAGE_MODEL)
    image.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where to write the image; - for stdout (default: <prediction id> here, with the "
        "image's suffix, never overwriting a file)",
    )
    image.add_argument(
        "-f", "--force", action="store_true", help="overwrite the --output file if it exists"
    )

    models = commands.add_parser(
        "models",
        help="list the models and their aliases",
        description=f"List the catalog. Defaults: {DEFAULT_TEXT_MODEL} (text), "
        f"{DEFAULT_IMAGE_MODEL} (image).",
        epilog="examples:\n  replicatehome models\n  replicatehome models --json\n"
        "  replicatehome models --schema sd-3\n",
        formatter_class=_Formatter,
    )
    models.add_argument("--json", action="store_true", help="print the catalog as JSON")
    models.add_argument(
        "--schema",
        metavar="NAME",
        help="print a model's inputs instead: name, type, default and allowed values",
    )

    # Each flag is named after the EmulatorConfig or Faults field it sets (its dest), and sets
    # it only when given: the defaults are the dataclasses' own. EmulatorConfig and Faults check
    # the values, and say what is wrong with one.
    serve = commands.add_parser(
        "serve",
        help="run the local emulator of the service",
        description="Serve the emulator until Ctrl-C, logging one line per request.",
        epilog="examples:\n  replicatehome serve\n"
        "  replicatehome serve --port 9000 --duration 2 --failure-rate 0.1 --text-plain\n"
        "  replicatehome serve --api-tokens r8_test --deployments acme/writer=google-deepmind/"
        "gemma-2b-it\n",
        formatter_class=_Formatter,
        argument_default=argparse.SUPPRESS,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (info: one line per request)",
    )
    serve.add_argument("--duration", type=float, help="seconds a prediction processes (1.0)")
    serve.add_argument("--starting", type=float, help="seconds a prediction is starting (0.2)")
    serve.add_argument(
        "--duration-from-input",
        metavar="KEY",
        help="an input key whose number, when present, replaces --duration for that prediction",
    )
    serve.add_argument(
        "--image-count", type=int, metavar="N", help="images per image prediction (1)"
    )
    serve.add_argument(
        "--image-size",
        type=int,
        metavar="PIXELS",
        help="side of the square images of models outside the catalog (256)",
    )
    serve.add_argument(
        "--prediction-ttl",
        type=float,
        metavar="SECONDS",
        help="seconds an ended prediction is kept (3600)",
    )
    serve.add_argument(
        "--max-predictions",
        type=int,
        metavar="N",
        help="predictions kept at most; the oldest go first (10000)",
    )
    serve.add_argument(
        "--api-tokens",
        type=_set,
        metavar="TOKEN,...",
        help="the only tokens /v1 accepts (default: any non-empty one)",
    )
    serve.add_argument(
        "--deployments",
        type=_deployments,
        metavar="NAME=MODEL,...",
        help="deployments and the models they run (default: every model, under its own name)",
    )
    serve.add_argument(
        "--webhook-secret", metavar="whsec_...", help="the webhook signing secret (random)"
    )
    serve.add_argument(
        "--webhook-retry-delays",
        type=_seconds,
        metavar="SECONDS,...",
        help="seconds before each retry of a failed webhook delivery (0.5,1,2)",
    )
    serve.add_argument(
        "--files-secret", metavar="SECRET", help="the Files API's download signing secret (random)"
    )
    serve.add_argument(
        "--max-upload-bytes",
        type=int,
        metavar="N",
        help="the largest file POST /v1/files accepts (16777216)",
    )
    serve.add_argument("--failure-rate", type=_fraction, help="fraction of predictions that fail")
    serve.add_argument("--rate-limit-rate", type=_fraction, help="fraction of requests given 429")
    serve.add_argument("--retry-after", type=float, help="seconds sent in Retry-After (1)")
    serve.add_argument(
        "--server-error-rate", type=_fraction, help="fraction of requests given an HTML 502/503/504"
    )
    serve.add_argument(
        "--slow",
        type=float,
        dest="slow_seconds",
        metavar="SECONDS",
        help="seconds added to every request",
    )
    serve.add_argument("--text-plain", action="store_true", help="send JSON as text/plain")
    serve.add_argument(
        "--never-finish", action="store_true", help="predictions stay processing forever"
    )
    serve.add_argument("--drop-rate", type=_fraction, help="fraction of connections dropped")
    serve.add_argument(
        "--max-faults", type=int, help="stop injecting request faults after this many"
    )
    serve.add_argument(
        "--fault-routes",
        type=_set,
        dest="routes",
        metavar="ROUTE,...",
        help="routes the request faults apply to (create,poll); also cancel, stream, model, file, "
        "list, uploads, account",
    )
    serve.add_argument("--seed", type=int, help="seed for every random choice (0)")

    demo = commands.add_parser(
        "demo",
        help="run the SDK's main job against the built-in emulator",
        description="Start the emulator in-process, stream a text generation, make an image, "
        "and print a summary. Needs no network.",
        formatter_class=_Formatter,
    )
    demo.add_argument(
        "--output-dir", metavar="DIR", help="where to save the image (default: a temp folder)"
    )
    demo.add_argument(
        "--duration",
        type=_positive,
        default=1.5,
        metavar="SECONDS",
        help="how long each emulated prediction runs (default 1.5)",
    )
    return parser
