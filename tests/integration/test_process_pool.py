"""Clients in a process pool: each worker makes its own after the fork or spawn, closes it at exit.

Each worker makes its clients (a `Client`, and an `AsyncClient` on an event loop it keeps) in the
pool's initializer, and registers their closing for when it exits; the parent makes none, so
nothing is shared across a fork. Both start methods run against the session's emulator, whose URL
the workers are given.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import runpy
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Literal

import pytest

from replicatehome import AsyncClient, Client
from replicatehome.emulator import Emulator, emulated_text

GEMMA = "google-deepmind/gemma-2b-it"
WORKERS = 2
PROMPTS = [f"Worker prompt {n}" for n in range(8)]
DOC = Path(__file__).parent.parent.parent / "docs" / "reliability.md"

Kind = Literal["Client", "AsyncClient"]

# Python 3.12+ warns when a multi-threaded process forks: this one runs the emulator's server
# thread. The children never use what that thread may hold (they make their own client and
# talk to the server over a socket), which is the pattern this test exists to check, so the
# warning is expected here. Python 3.11 does not warn; the filter is then unused.
FORK_WARNING = (
    r"ignore:This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to "
    r"deadlocks in the child\.:DeprecationWarning"
)

# This worker's own clients, one of each kind (and, for asyncio, the loop the AsyncClient
# belongs to): globals of the worker process, set by the initializer.
_client: Client | None = None
_runner: asyncio.Runner | None = None
_async_client: AsyncClient | None = None


async def _new_async_client(base_url: str) -> AsyncClient:
    """An `AsyncClient`, made on the loop that will run all its calls."""
    return AsyncClient(base_url=base_url, poll_interval=0.05)


def _start_worker(base_url: str, marks: str) -> None:
    """Pool initializer: this worker's `Client`, and its `AsyncClient` on a loop of its own."""
    global _client, _runner, _async_client
    client = _client = Client(base_url=base_url, poll_interval=0.05)
    # asyncio.run closes its loop after one call; an AsyncClient belongs to one loop, so the
    # worker keeps one Runner (what asyncio.run uses) open for all its jobs.
    runner = _runner = asyncio.Runner()
    async_client = _async_client = runner.run(_new_async_client(base_url))

    def close() -> None:
        """Close both clients and the loop, and leave a mark that this worker did."""
        client.close()
        runner.run(async_client.aclose())
        runner.close()
        Path(marks, f"closed-{os.getpid()}").touch()

    # Forked workers end with os._exit, so atexit never runs there; finalizers do, on both.
    Finalize(None, close, exitpriority=10)


def _generate_sync(prompt: str) -> tuple[int, str]:
    """Pool job: generate text with this worker's `Client`."""
    assert _client is not None, "the initializer did not run"
    return os.getpid(), _client.generate_text(prompt).text


def _generate_async(prompt: str) -> tuple[int, str]:
    """Pool job: generate text with this worker's `AsyncClient`, on its loop."""
    assert _runner is not None, "the initializer did not run"
    assert _async_client is not None, "the initializer did not run"
    return os.getpid(), _runner.run(_async_client.generate_text(prompt)).text


@dataclass
class Pool:
    """A process pool whose workers each made their clients, and where they mark closing them."""

    executor: ProcessPoolExecutor
    marks: Path
    used: set[int] = field(default_factory=set)


@pytest.fixture(scope="module")
def pools(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Pool]]:
    """A pool of `WORKERS` processes for each start method, shared by the module's tests; on the
    way out, checks that every worker that ran closed its clients.

    Spawned workers take seconds to start (each imports pytest and the SDK), so all of them are
    asked for at once, and start while the forked ones work.
    """
    made: dict[str, Pool] = {}
    with ExitStack() as stack:
        for method in ("spawn", "fork"):
            marks = tmp_path_factory.mktemp(f"closed-{method}")
            executor = ProcessPoolExecutor(
                WORKERS,
                mp_context=multiprocessing.get_context(method),
                initializer=_start_worker,
                initargs=(emulator.url, str(marks)),
            )
            made[method] = Pool(stack.enter_context(executor), marks)
        # One worker is spawned per job submitted while none is idle: this spawns them all.
        for _ in range(WORKERS):
            made["spawn"].executor.submit(os.getpid)
        yield made
    for method, pool in made.items():
        closed = {int(mark.name.removeprefix("closed-")) for mark in pool.marks.iterdir()}
        assert pool.used <= closed, f"a {method} worker exited without closing its clients"
        assert len(closed) <= WORKERS


@pytest.mark.parametrize("kind", ["Client", "AsyncClient"])
@pytest.mark.parametrize(
    "start_method", [pytest.param("fork", marks=pytest.mark.filterwarnings(FORK_WARNING)), "spawn"]
)
def test_one_client_per_worker(
    pools: dict[str, Pool], start_method: str, kind: Kind, emu: Emulator
) -> None:
    """Every worker generates with its own client: all results arrive, right and in order."""
    pool = pools[start_method]
    job = _generate_sync if kind == "Client" else _generate_async
    results = list(pool.executor.map(job, PROMPTS))

    assert [text for _, text in results] == [emulated_text(GEMMA, p) for p in PROMPTS]
    assert emu.stats.predictions == len(PROMPTS)  # one create per call, none repeated
    pids = {pid for pid, _ in results}
    assert os.getpid() not in pids
    pool.used |= pids


@pytest.mark.filterwarnings(FORK_WARNING)
def test_documented_pool_example_runs(
    emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/reliability.md's process-pool example, run as the script it is: test_docs cannot,
    as its workers import their functions from ``__main__``. runpy makes it ``__main__`` for the
    run, and its workers fork from this process (the default start method on Linux), which has
    already imported the SDK."""
    if multiprocessing.get_start_method() != "fork":
        pytest.skip("spawned workers would import pytest's __main__, not the example")
    [code] = re.findall(r"```python script\n(.*?)```", DOC.read_text(), re.DOTALL)
    script = tmp_path / "pool_example.py"
    script.write_text(code)
    monkeypatch.setenv("REPLICATEHOME_BASE_URL", emulator.url)

    runpy.run_path(str(script), run_name="__main__")

    texts = capsys.readouterr().out
    prompts = [f"Write a haiku about the number {n}" for n in range(4)] * 2
    assert texts == "".join(f"{emulated_text(GEMMA, p)}\n" for p in prompts)


@pytest.mark.parametrize("framework", ["celery", "dask", "ray"])
def test_framework_examples_compile(framework: str) -> None:
    """The Celery, Dask and Ray examples need frameworks the SDK does not depend on: they are
    only compiled here (test_docs skips them)."""
    [code] = re.findall(rf"```python {framework}\n(.*?)```", DOC.read_text(), re.DOTALL)
    compile(code, f"reliability.md ({framework})", "exec")
