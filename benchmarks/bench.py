"""Benchmarks of what users feel: import cost, how soon a finished prediction is seen, memory.

Run with ``uv run python benchmarks/bench.py`` (or ``uv run nox -s bench``). Everything runs
against the in-process emulator on 127.0.0.1, so the numbers measure the SDK, not a network.
Prints a Markdown report; docs/benchmarks.md holds the last one recorded.
"""

from __future__ import annotations

import asyncio
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from replicatehome import AsyncClient, Client, PredictionSnapshot
from replicatehome.emulator import Emulator

TOKEN = "r8_benchmark"
RUNS = 10
DURATION = 0.5  # seconds each emulated prediction spends processing


def import_seconds(runs: int = 10) -> list[float]:
    """Wall time of ``python -c 'import replicatehome'``, minus a bare interpreter start."""

    def wall(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    bare = statistics.median(wall("pass") for _ in range(runs))
    return [wall("import replicatehome") - bare for _ in range(runs)]


def lag(snapshot: PredictionSnapshot) -> float:
    """Seconds between the prediction finishing on the server and the caller having it."""
    assert snapshot.completed_at is not None
    return time.time() - snapshot.completed_at.timestamp()


def detection_lags(url: str, api_token: str | None) -> dict[str, list[float]]:
    """How long after the end each way of waiting returns, over `RUNS` predictions."""
    lags: dict[str, list[float]] = {"generate_text": [], "create + wait": []}
    with Client(base_url=url, api_token=api_token) as client:
        for n in range(RUNS):
            lags["generate_text"].append(lag(client.generate_text(f"run {n}").prediction))
            p = client.predictions.create("gemma-2b", input={"prompt": f"wait {n}"})
            lags["create + wait"].append(lag(p.wait().prediction))
    return lags


def concurrent(url: str, count: int, *, trace: bool) -> tuple[float, int]:
    """Wall time (and, with `trace`, peak traced memory) of `count` concurrent generations."""

    async def main() -> None:
        async with AsyncClient(base_url=url) as client:
            await asyncio.gather(*(client.generate_text(f"p{n}") for n in range(count)))

    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    return elapsed, peak


@contextmanager
def served() -> Iterator[str]:
    """`replicatehome serve` in its own process, so the server does not share our GIL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "replicatehome", "serve", "--port", str(port)]
    command += ["--duration", str(DURATION), "--starting", "0.05", "--log-level", "warning"]
    server = subprocess.Popen(command)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/api/poll", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


def row(name: str, values: list[float], scale: Callable[[float], str]) -> str:
    values = sorted(values)
    p90 = values[max(0, round(0.9 * len(values)) - 1)]
    return f"| {name} | {scale(statistics.median(values))} | {scale(p90)} | {len(values)} |"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d')}"
    )
    print()
    print("| measure | median | p90 | runs |")
    print("|---|---|---|---|")
    print(row("`import replicatehome`", import_seconds(), ms))
    with Emulator(duration=DURATION, starting=0.05) as emu:
        for backend, token in (
            ("homepage (polling)", None),
            ("official (Prefer: wait, SSE)", TOKEN),
        ):
            for way, values in detection_lags(emu.url, token).items():
                print(row(f"{backend}: `{way}` returns after the end", values, ms))
    print()
    print("| concurrent `generate_text`, one AsyncClient | wall | peak traced memory |")
    print("|---|---|---|")
    with served() as url:
        for count in (1, 10, 100):
            elapsed, _ = concurrent(url, count, trace=False)
            _, peak = concurrent(url, count, trace=True)
            print(
                f"| {count} x {DURATION} s predictions | {elapsed:.2f} s | {peak / 1024:,.0f} KiB |"
            )


if __name__ == "__main__":
    main()
