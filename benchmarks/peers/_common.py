"""What every benchmark runner shares: the options, the measurements, and the JSON it prints.

A runner is a script that measures one client (this project, replicate-python 1.x, replicate
2.x, or the seed's fixed 5 s schedule) from inside that client's own interpreter, so that each
SDK runs with its own dependencies and none enters the project's lock. ``benchmarks/bench.py``
starts it as ``python RUNNER FIGURE URL [options]`` and reads one line of JSON from its stdout.

Standard library only: the peers' interpreters have nothing else that this module could rely on.
Every runner imports it lazily, after the ``cold`` figure has had its chance to run, so that a
cold start measures the client and not this module.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

__all__ = [
    "DURATION_KEY",
    "MODEL_NAME",
    "MODEL_OWNER",
    "TOKEN",
    "Done",
    "Options",
    "concurrent",
    "cpu_rounds",
    "emit",
    "epoch",
    "mixed",
    "parse_options",
    "prediction_input",
    "repeated",
]

DURATION_KEY = "bench_seconds"
"""The input key the emulator takes a prediction's processing time from
(``replicatehome serve --duration-from-input bench_seconds``)."""
MODEL_OWNER, MODEL_NAME = "google-deepmind", "gemma-2b-it"
"""The catalog's text model, which every client can run on both protocols."""
TOKEN = "r8_benchmark"
"""A dummy token: the emulator's ``/v1`` API accepts any."""
WARMUP_ROUNDS = 10
"""Create + get rounds run, and not counted, before the timed ones."""

C = TypeVar("C")
A = TypeVar("A")


@dataclass(frozen=True, slots=True)
class Options:
    """What the driver asked for. `durations` and `seconds` are seconds of processing."""

    figure: str
    url: str
    protocol: str
    rounds: int
    durations: tuple[float, ...]
    seconds: float
    warmup: int
    count: int


def parse_options(argv: Sequence[str]) -> Options:
    """Parse ``FIGURE URL [options]``."""
    parser = argparse.ArgumentParser(description="Measure one client against the emulator.")
    parser.add_argument("figure", choices=["cpu", "mixed", "repeated", "concurrent"])
    parser.add_argument("url")
    parser.add_argument("--protocol", choices=["homepage", "official"], default="homepage")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--durations", default="1.0", help="comma-separated seconds")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args(argv)
    return Options(
        figure=args.figure,
        url=args.url,
        protocol=args.protocol,
        rounds=args.rounds,
        durations=tuple(float(part) for part in args.durations.split(",")),
        seconds=args.seconds,
        warmup=args.warmup,
        count=args.count,
    )


def prediction_input(n: int, seconds: float | None = None) -> dict[str, object]:
    """The input of the `n`-th prediction; `seconds` of processing, or the server's default."""
    inputs: dict[str, object] = {"prompt": f"benchmark prediction {n}"}
    if seconds is not None:
        inputs[DURATION_KEY] = seconds
    return inputs


def epoch(value: object) -> float:
    """A timestamp as the client returned it (a `datetime` or an ISO 8601 string), in Unix time."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise TypeError(f"not a timestamp: {value!r}")


@dataclass(frozen=True, slots=True)
class Done:
    """One prediction followed to its end: its id, the server's timestamps, and when the client
    returned it (``time.time()``), all in Unix time."""

    id: str
    seconds: float
    created_at: float
    completed_at: float
    returned: float
    status: str
    warmup: bool = False


RunOne = Callable[[C, dict[str, object]], tuple[str, str, object, object]]
"""Creates a prediction with this input on the client and waits for its end; returns its id,
status, ``created_at`` and ``completed_at`` as the client has them."""


def _follow(client: C, run_one: RunOne[C], n: int, seconds: float, *, warmup: bool) -> Done:
    prediction_id, status, created_at, completed_at = run_one(client, prediction_input(n, seconds))
    returned = time.time()
    return Done(
        prediction_id, seconds, epoch(created_at), epoch(completed_at), returned, status, warmup
    )


def mixed(
    durations: Sequence[float],
    fresh: Callable[[], AbstractContextManager[C]],
    run_one: RunOne[C],
) -> list[Done]:
    """Follow one prediction of each duration, in turn, each on a client of its own: every one
    is the client's first sight of the model."""
    done: list[Done] = []
    for n, seconds in enumerate(durations):
        with fresh() as client:
            done.append(_follow(client, run_one, n, seconds, warmup=False))
    return done


def repeated(
    options: Options,
    fresh: Callable[[], AbstractContextManager[C]],
    run_one: RunOne[C],
) -> list[Done]:
    """Follow `options.warmup` and then `options.count` predictions of the same duration, in
    turn, on one client: the measured ones come after the client has seen the model."""
    done: list[Done] = []
    with fresh() as client:
        for n in range(options.warmup + options.count):
            warm = n < options.warmup
            done.append(_follow(client, run_one, n, options.seconds, warmup=warm))
    return done


def cpu_rounds(
    rounds: int,
    fresh: Callable[[], AbstractContextManager[C]],
    create_get: Callable[[C, dict[str, object]], None],
) -> dict[str, float]:
    """CPU time (`time.process_time`, this process only: the server is another) and wall time
    per create + get, over `rounds` rounds on one client, after `WARMUP_ROUNDS` uncounted."""
    with fresh() as client:
        for n in range(WARMUP_ROUNDS):
            create_get(client, prediction_input(n))
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(rounds):
            create_get(client, prediction_input(n))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu": cpu / rounds, "wall": wall / rounds, "rounds": rounds}


def rss_kib() -> int:
    """This process's resident set size now, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_kib() -> int:
    """This process's peak resident set size so far, in KiB (Linux reports ``ru_maxrss`` so)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def concurrent(
    options: Options,
    fresh: Callable[[], AbstractAsyncContextManager[A]],
    run_one: Callable[[A, dict[str, object]], Awaitable[str]],
) -> dict[str, object]:
    """`options.count` predictions of `options.seconds` at once on one async client.

    One short prediction first, uncounted, so that every code path is loaded and the pool has a
    connection; then RSS is read, and all the predictions are started together. `run_one`
    returns the final status; an exception counts as a failure, by type.
    """
    async with fresh() as client:
        await run_one(client, prediction_input(-1, 0.0))
        before = rss_kib()
        cpu = time.process_time()
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(run_one(client, prediction_input(n, options.seconds)) for n in range(options.count)),
            return_exceptions=True,
        )
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    failures: Counter[str] = Counter()
    first_error = ""
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            failures[type(outcome).__name__] += 1
            first_error = first_error or f"{type(outcome).__name__}: {outcome}"[:300]
        elif outcome != "succeeded":
            failures[f"status {outcome}"] += 1
    peak = peak_rss_kib()
    return {
        "count": options.count,
        "wall": wall,
        "cpu": cpu,
        "succeeded": options.count - failures.total(),
        "failures": dict(failures),
        "first_error": first_error,
        "rss_before_kib": before,
        "peak_rss_kib": peak,
    }


def emit(result: object) -> None:
    """Print the result as the one JSON line the driver reads."""
    if isinstance(result, list):
        result = [asdict(item) if isinstance(item, Done) else item for item in result]
    sys.stdout.write(json.dumps(result) + "\n")


def run(
    argv: Sequence[str],
    *,
    fresh: Callable[[Options], AbstractContextManager[C]],
    run_one: RunOne[C],
    create_get: Callable[[C, dict[str, object]], None] | None = None,
    fresh_async: Callable[[Options], AbstractAsyncContextManager[A]] | None = None,
    run_one_async: Callable[[A, dict[str, object]], Awaitable[str]] | None = None,
) -> None:
    """Parse the options and measure the figure asked for; a runner's ``main``.

    Args:
        argv: ``FIGURE URL [options]``.
        fresh: Makes a new sync client for these options.
        run_one: See `RunOne`.
        create_get: One create and one get of the same prediction, for ``cpu``.
        fresh_async: Makes a new async client, for ``concurrent``.
        run_one_async: Creates a prediction on the async client, waits for its end, and returns
            its status, for ``concurrent``.
    """
    options = parse_options(argv)

    def client() -> AbstractContextManager[C]:
        return fresh(options)

    if options.figure == "cpu":
        if create_get is None:
            raise SystemExit("this client has no create + get")
        emit(cpu_rounds(options.rounds, client, create_get))
    elif options.figure == "mixed":
        emit(mixed(options.durations, client, run_one))
    elif options.figure == "repeated":
        emit(repeated(options, client, run_one))
    else:
        if fresh_async is None or run_one_async is None:
            raise SystemExit("this client has no async API")
        make = fresh_async
        emit(asyncio.run(concurrent(options, lambda: make(options), run_one_async)))
