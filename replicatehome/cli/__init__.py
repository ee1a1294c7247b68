"""The ``replicatehome`` command: text, image, models, serve and demo.

Built on the SDK's public API. Needs the ``cli`` extra (rich); ``serve`` and ``demo`` also need
the ``emulator`` extra. Neither is imported by ``import replicatehome``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import APIConnectionError, PredictionError, ReplicateHomeError, UnknownModelError
from ._parser import build_parser
from ._usage import UsageError

__all__ = ["main"]


def _fail(message: str, status: int) -> int:
    # Messages quote what servers sent: no escape sequence reaches the terminal as one.
    shown = "".join(c if c == "\n" or c.isprintable() else repr(c)[1:-1] for c in message)
    sys.stderr.write(f"replicatehome: error: {shown}\n")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: ``sys.argv[1:]``); return its exit status.

    Exit status: 0 success; 1 the prediction failed, was canceled or timed out; 2 usage error
    (including an unknown model); 3 API or connection error; 130 interrupted.
    """
    args = build_parser().parse_args(argv)
    try:
        # Only now: --help and --version answer without loading httpx, pydantic or rich.
        from .._logs import setup_from_env
        from ._commands import run_image, run_models, run_serve, run_text

        setup_from_env()  # for every command, `serve` too, though it makes no client
        if args.command == "text":
            return run_text(args, sys.stdout, sys.stdin)
        if args.command == "image":
            return run_image(args, sys.stdout, sys.stdin)
        if args.command == "models":
            return run_models(args, sys.stdout)
        if args.command == "serve":
            return run_serve(args)
        from ._demo import run_demo

        return run_demo(args.output_dir, args.duration)
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted.\n")
        return 130
    except Exception as error:
        if args.debug:
            raise
        return _report(error)


def _report(error: Exception) -> int:
    if isinstance(error, BrokenPipeError):  # stdout closed early, as by `| head`: not an error
        return 0
    if isinstance(error, UsageError | UnknownModelError | ValueError | OSError):
        return _fail(str(error), 2)
    if isinstance(error, PredictionError):
        return _fail(str(error), 1)
    if isinstance(error, APIConnectionError):
        return _fail(f"{error}\nIs the server at the base URL up, and is the network reachable?", 3)
    if isinstance(error, ReplicateHomeError):
        return _fail(str(error), 3)
    if isinstance(error, ModuleNotFoundError):
        return _fail(f"{error.name} is not installed: pip install 'replicatehome[cli,emulator]'", 3)
    return _fail(f"{type(error).__name__}: {error} (run with --debug for the traceback)", 3)
