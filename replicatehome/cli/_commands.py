"""The ``text``, ``image``, ``models`` and ``serve`` commands, on the SDK's public API only."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import fields
from pathlib import Path
from typing import Any, TextIO

from .. import Client, Prediction, PredictionResult, ReplicateHomeError
from .._config import DEFAULT_RETRY, DEFAULT_WAIT_TIMEOUT
from ..catalog import DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL, MODELS, Kind, find
from ._inputs import model_inputs, schema_fields
from ._progress import Progress
from ._usage import UsageError

__all__ = ["run_image", "run_models", "run_serve", "run_text"]


def _prompt(argument: str, stdin: TextIO) -> str:
    prompt = stdin.read().strip() if argument == "-" else argument
    if not prompt:
        raise UsageError("the prompt is empty")
    return prompt


def _input(args: argparse.Namespace, stdin: TextIO, kind: Kind) -> dict[str, object]:
    """The model input the command line asks for, checked before any request."""
    # Whether the model exists is the client's to say (it depends on the backend); a catalog
    # model of the other kind is a usage error here.
    known = find(args.model.partition(":")[0])
    if known is not None and known.kind != kind:
        other = "image" if kind == "text" else "text"
        raise UsageError(f"{known.name} is an {other} model: use 'replicatehome {other}'")
    model = None if known is None else known.name
    return model_inputs(model, _prompt(args.prompt, stdin), args.input)


def _client(args: argparse.Namespace) -> tuple[Client, _Clock]:
    """The client, and the one deadline that create, wait and download share."""
    seconds = DEFAULT_WAIT_TIMEOUT if args.timeout is None else args.timeout
    retries = DEFAULT_RETRY.max_retries if args.retries is None else args.retries
    client = Client(
        backend=args.backend, base_url=args.base_url, wait_timeout=seconds, max_retries=retries
    )
    return client, _Clock(seconds)


class _Clock:
    """The seconds left of the command's `--timeout`."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self._end - time.monotonic())


@contextmanager
def _cancel_on_interrupt(
    client: Client, prediction: Prediction[PredictionResult]
) -> Iterator[None]:
    """On Ctrl-C, cancel the remote prediction where the backend can, then stop."""
    try:
        yield
    except KeyboardInterrupt:
        if client.backend == "official":
            sys.stderr.write(f"\nCanceling prediction {prediction.id}...")
            with suppress(ReplicateHomeError):
                prediction.cancel()
        raise


def run_text(args: argparse.Namespace, stdout: TextIO, stdin: TextIO) -> int:
    """Generate text; stream it to stdout unless --no-stream or --json."""
    input = _input(args, stdin, "text")
    client, clock = _client(args)
    with client:
        prediction = client.predictions.create(args.model, input=input)
        with _cancel_on_interrupt(client, prediction):
            if args.json or args.no_stream:
                with Progress("Generating", enabled=not args.quiet) as progress:
                    prediction.wait(clock.left(), on_update=progress.update)
            else:
                for chunk in prediction.stream(clock.left()):
                    stdout.write(chunk)
                    stdout.flush()
        result = prediction.result
    if args.json:
        stdout.write(result.prediction.model_dump_json(indent=2) + "\n")
    elif args.no_stream:
        stdout.write(str(result) + "\n")
    else:
        stdout.write("\n")
    return 0


_SAFE_STEM = re.compile(r"[^A-Za-z0-9_-]+")
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})


def default_name(prediction_id: str, url: str) -> str:
    """A file name for an image, from the server's id and URL, safe to create in this folder.

    Only letters, digits, ``_`` and ``-`` of the id are kept, and only a known image suffix of
    the URL: whatever the server sends, the name has no separator, no ``..`` and no control
    character.
    """
    stem = _SAFE_STEM.sub("", prediction_id)[:100] or "image"
    suffix = Path(url.split("?")[0].split("#")[0]).suffix.lower()
    return stem + (suffix if suffix in _IMAGE_SUFFIXES else ".png")


def _free_path(folder: Path, name: str) -> Path:
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate = folder / name
    for n in range(1, 10_000):
        if not candidate.exists():
            return candidate
        candidate = folder / f"{stem}-{n}{suffix}"
    raise UsageError(f"no free file name for {name} in {folder}")


def run_image(args: argparse.Namespace, stdout: TextIO, stdin: TextIO) -> int:
    """Generate an image, write it, and print the path (or the prediction as JSON)."""
    input = _input(args, stdin, "image")
    if args.output not in (None, "-") and Path(args.output).is_file() and not args.force:
        raise UsageError(f"{args.output} exists; pass --force to overwrite it")
    client, clock = _client(args)
    with client:
        prediction = client.predictions.create(args.model, input=input)
        with (
            _cancel_on_interrupt(client, prediction),
            Progress("Generating image", enabled=not args.quiet) as progress,
        ):
            image = prediction.wait(clock.left(), on_update=progress.update)
        if args.output == "-":
            stdout.buffer.write(image.read(timeout=clock.left()))
            stdout.flush()
            return 0
        target = (
            Path(args.output)
            if args.output
            else _free_path(Path.cwd(), default_name(image.prediction.id, image.url))
        )
        try:
            image.save(target, timeout=clock.left(), overwrite=args.force)
        except FileExistsError:
            # The checks above passed: another program took the name while the image downloaded.
            raise UsageError(
                f"{target} appeared while the image downloaded and was kept; run again, or pass "
                "--force to overwrite it"
            ) from None
    stdout.write(image.prediction.model_dump_json(indent=2) if args.json else str(target))
    stdout.write("\n")
    return 0


def run_models(args: argparse.Namespace, stdout: TextIO) -> int:
    """Print the catalog as a table, or as JSON; or with --schema, one model's inputs."""
    if args.schema is not None:
        return _print_schema(args.schema, stdout, as_json=args.json)
    defaults = {DEFAULT_TEXT_MODEL, DEFAULT_IMAGE_MODEL}
    rows = [
        {
            "name": spec.name,
            "alias": spec.alias,
            "kind": spec.kind,
            "version": spec.version,
            "default": spec.name in defaults,
        }
        for spec in MODELS
    ]
    if args.json:
        stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "alias", "kind", "version", "default", box=None, pad_edge=False)
    for row in rows:
        version = str(row["version"])
        table.add_row(
            str(row["name"]),
            str(row["alias"]),
            str(row["kind"]),
            version[:12] + "…",
            "yes" if row["default"] else "",
        )
    Console(file=stdout, width=120).print(table)
    return 0


def _print_schema(name: str, stdout: TextIO, *, as_json: bool) -> int:
    """Print a catalog model's inputs: name, type, default and allowed values."""
    spec = find(name)
    if spec is None:
        known = ", ".join(key for model in MODELS for key in (model.name, model.alias) if key)
        raise UsageError(f"no input schema for {name!r}; the catalog's models: {known}")
    fields = schema_fields(spec.name) or []
    rows = [
        {"name": f.name, "type": f.kind, "default": f.default, "allowed": f.allowed} for f in fields
    ]
    if as_json:
        stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "type", "default", "allowed", box=None, pad_edge=False, title=spec.name)
    for row in rows:
        table.add_row(row["name"], row["type"], row["default"], row["allowed"])
    Console(file=stdout, width=120, highlight=False).print(table)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Run the emulator in the foreground until Ctrl-C."""
    from ..emulator import EmulatorConfig, Faults, serve

    given: dict[str, Any] = vars(args)  # the parser sets a field's name only when it is given
    try:
        faults = Faults(**{f.name: given[f.name] for f in fields(Faults) if f.name in given})
        options = {f.name: given[f.name] for f in fields(EmulatorConfig) if f.name in given}
        config = EmulatorConfig(faults=faults, **options)
    except ValueError as error:
        raise UsageError(str(error)) from error
    serve(config, host=args.host, port=args.port, log_level=args.log_level)
    return 0
