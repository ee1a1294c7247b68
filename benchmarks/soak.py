"""Soak test: hundreds of concurrent predictions, for minutes, against a hostile server.

`replicatehome serve` runs in its own process with faults injected (throttling, gateway errors,
dropped connections, slow answers, failed and never-ending predictions), one scenario at a time
and then all at once. Against each server, `Client` (threads) and `AsyncClient` (asyncio) run N
concurrent calls each, on both protocols (the homepage one and the official ``/v1`` API), in a
loop: `generate_text`, `stream_text`, and `predictions.create` then `wait`, in turn. Every call
is checked and counted:

- its outcome: the exact text the emulator produces, or a typed error, counted by type;
- gave up: the call saw its prediction created, not end, and the caller still has its id (in the
  `PredictionError` raised, or in the handle `create` returned), so it can follow it again;
- lost: the server created a prediction that the caller never saw end and has no id for: the
  call raised an error without it, or the server's access log counts more creates than the calls
  saw;
- duplicated: one call that saw two creates;
- hung: a call that outlived its deadline (``wait_timeout``) by more than 0.5 s, or never
  returned.

The process's RSS is sampled throughout. Prints a Markdown report on stdout (progress goes to
stderr) and exits 1 if anything was lost, duplicated, hung or wrong, or if an error was not a
`ReplicateHomeError`. Giving up is the deadline at work, and is only reported.

    uv run python benchmarks/soak.py                  # 10 minutes, every scenario
    uv run python benchmarks/soak.py --duration 120   # 2 minutes
    uv run python benchmarks/soak.py --short          # under 30 s: what CI runs
    uv run nox -s soak -- --duration 120
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextvars
import gc
import logging
import os
import platform
import re
import resource
import shlex
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from _serve import ACCESS, CREATE_PATH, free_port, serving

from replicatehome import (
    AsyncClient,
    Client,
    PredictionError,
    PredictionFailedError,
    PredictionTimeoutError,
    ReplicateHomeError,
)
from replicatehome._backends import BACKEND_NAMES, BackendName
from replicatehome.emulator import emulated_text

GEMMA: Final = "google-deepmind/gemma-2b-it"
TOKEN: Final = "r8_test"
SLACK: Final = 0.5
"""How far past its deadline a call may return before it counts as hung."""
STARTING: Final = 0.2
PROCESSING: Final = 1.0
"""Seconds each emulated prediction spends starting, then processing."""
OPS: Final = ("generate_text", "stream_text", "create + wait")
GRACE: Final = 3.0
"""Extra seconds a scenario's last calls get to return before they count as hung."""

ClientKind = Literal["Client", "AsyncClient"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One server configuration: its faults, as `replicatehome serve` flags, and the deadline."""

    name: str
    summary: str
    flags: tuple[str, ...]
    wait_timeout: float = 15.0
    never_finish: bool = False


SCENARIOS: Final = (
    Scenario(
        "429",
        "20 % of creates and polls answered 429, `Retry-After: 0.5`",
        ("--rate-limit-rate", "0.2", "--retry-after", "0.5"),
    ),
    Scenario(
        "5xx",
        "10 % of creates and polls answered 502/503/504 with an HTML page",
        ("--server-error-rate", "0.1"),
    ),
    Scenario(
        "drop",
        "10 % of creates and polls cut off mid-body",
        ("--drop-rate", "0.1"),
    ),
    Scenario("slow", "every create and poll answered 0.5 s late", ("--slow", "0.5")),
    Scenario("failed", "30 % of predictions end `failed`", ("--failure-rate", "0.3")),
    Scenario(
        "never-finish",
        "no prediction ever ends; `wait_timeout=3`",
        ("--never-finish",),
        wait_timeout=3.0,
        never_finish=True,
    ),
    Scenario(
        "mixed",
        "5 % 429 + 5 % 5xx + 5 % dropped, +50 ms, JSON sent as text/plain, 10 % fail",
        (
            "--rate-limit-rate",
            "0.05",
            "--retry-after",
            "0.5",
            "--server-error-rate",
            "0.05",
            "--drop-rate",
            "0.05",
            "--slow",
            "0.05",
            "--text-plain",
            "--failure-rate",
            "0.1",
        ),
    ),
)
SHORT: Final = ("mixed", "never-finish")

POLL_PATH: Final = re.compile(r"^/(api/poll|v1/predictions/[^/]+)$")


class Call:
    """One call in progress: the predictions it saw created, what the SDK logged during it, and
    how its deadlines went."""

    __slots__ = ("created", "log", "op", "started", "step_started", "worst")

    def __init__(self, op: str) -> None:
        """Start the clock of the call and of its first step."""
        self.op = op
        self.created: list[str] = []
        self.log: list[str] = []
        self.started = self.step_started = time.monotonic()
        self.worst = -float("inf")

    def trail(self) -> str:
        """The call and what the SDK logged during it, to explain a problem."""
        logged = "; ".join(self.log) or "nothing logged"
        return f"`{self.op}` ({time.monotonic() - self.started:.2f} s; SDK log: {logged})"

    def step(self, deadline: float) -> None:
        """End a step that had `deadline` seconds, and start the next one."""
        now = time.monotonic()
        self.worst = max(self.worst, now - self.step_started - deadline)
        self.step_started = now


CURRENT: contextvars.ContextVar[Call | None] = contextvars.ContextVar("soak_call", default=None)


class CallLog(logging.Handler):
    """Hands what the SDK logs (at INFO: creates, retries, streams) to the call that logged it.

    The SDK logs from inside the call, in the caller's thread or task, so the context variable
    names the call. ``Created prediction <id> (<model>)`` gives the ids it created.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Record the message on the current call, and the id of a created prediction."""
        call = CURRENT.get()
        if call is None:
            return
        if record.msg.startswith("Created prediction"):
            assert isinstance(record.args, tuple)
            call.created.append(str(record.args[0]))
        if len(call.log) < 20:
            call.log.append(f"{time.monotonic() - call.started:.2f} s {record.getMessage()}")


@dataclass
class Tally:
    """What one client and protocol saw during one scenario. Thread-safe."""

    calls: int = 0
    created: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    gave_up: int = 0
    lost: int = 0
    duplicated: int = 0
    hung: int = 0
    stuck: int = 0
    wrong: int = 0
    untyped: int = 0
    worst_overrun: float = -float("inf")
    seconds: array.array[float] = field(default_factory=lambda: array.array("d"))
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    examples: dict[str, str] = field(default_factory=dict)
    inflight: set[Call] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self, op: str) -> Call:
        """Start a call, tracked until `record` so that a call that never returns is seen."""
        call = Call(op)
        with self.lock:
            self.inflight.add(call)
        return call

    def _problem(self, text: str) -> None:
        """Keep `text` as an example of a broken promise, under the lock."""
        if len(self.problems) < 5:  # a few examples say enough; all are counted
            self.problems.append(text)

    def record(
        self,
        call: Call,
        text: str | None,
        error: BaseException | None,
        expected: str,
        scenario: Scenario,
    ) -> None:
        """Count one call that returned `text` or raised `error`."""
        elapsed = time.monotonic() - call.started
        with self.lock:
            self.inflight.discard(call)
            self.calls += 1
            self.seconds.append(elapsed)
            self.worst_overrun = max(self.worst_overrun, call.worst)
            if call.worst > SLACK:
                self.hung += 1
                self._problem(
                    f"returned {call.worst:.2f} s past its deadline: {error!r}, {call.trail()}"
                )
            if call.created:
                self.created += 1
            if len(call.created) > 1:
                self.duplicated += len(call.created) - 1
                self._problem(f"one call created {call.created}: {call.trail()}")
            seen_end = True
            if error is None:
                if text == expected:
                    self.succeeded += 1
                else:
                    self.wrong += 1
                    self._problem(f"wrong text {text!r}, expected {expected!r}: {call.trail()}")
            elif isinstance(error, PredictionFailedError):
                self.failed += 1
            else:
                name = type(error).__name__
                if not isinstance(error, ReplicateHomeError):
                    self.untyped += 1
                    name += " (not a ReplicateHomeError)"
                    self._problem(f"untyped error {error!r}: {call.trail()}")
                self.errors[name] += 1
                self.examples.setdefault(name, f"{error}, {call.trail()}")
                # Only a prediction that never ends may end a call without its end.
                never_ends = scenario.never_finish and isinstance(error, PredictionTimeoutError)
                seen_end = never_ends
            if call.created and not seen_end:
                # The caller can still follow the prediction if it has its id: from the error,
                # or from the handle `create` returned.
                ending = f"{call.created[0]}: {type(error).__name__}: {error}, {call.trail()}"
                if isinstance(error, PredictionError) or call.op == "create + wait":
                    self.gave_up += 1
                    if len(self.notes) < 3:
                        self.notes.append(ending)
                else:
                    self.lost += 1
                    self._problem(f"lost {ending}")

    def abandon(self) -> int:
        """Count the calls still running as hung; return how many there were."""
        with self.lock:
            stuck = len(self.inflight)
            for call in self.inflight:
                self._problem(f"never returned: {call.trail()}")
            self.hung += stuck
            self.stuck += stuck
            self.inflight.clear()
            return stuck


@dataclass(frozen=True, slots=True)
class Lane:
    """One client kind on one protocol, against one server."""

    client: ClientKind
    protocol: BackendName

    @property
    def key(self) -> str:
        """A short name, for prompts and thread names."""
        return f"{self.client}/{self.protocol}"


LANES: Final = tuple(
    Lane(client, protocol) for client in ("Client", "AsyncClient") for protocol in BACKEND_NAMES
)


def sync_client(lane: Lane, url: str, scenario: Scenario, max_retries: int) -> Client:
    """The lane's `Client`, on its protocol, against `url`."""
    return Client(
        api_token=TOKEN if lane.protocol == "official" else None,
        backend=lane.protocol,
        base_url=url,
        max_retries=max_retries,
        wait_timeout=scenario.wait_timeout,
    )


def async_client(lane: Lane, url: str, scenario: Scenario, max_retries: int) -> AsyncClient:
    """The lane's `AsyncClient`, on its protocol, against `url`."""
    return AsyncClient(
        api_token=TOKEN if lane.protocol == "official" else None,
        backend=lane.protocol,
        base_url=url,
        max_retries=max_retries,
        wait_timeout=scenario.wait_timeout,
    )


def sync_call(client: Client, op: str, prompt: str, call: Call, deadline: float) -> str:
    """Run one operation through `client`; return the text it produced."""
    if op == "generate_text":
        return client.generate_text(prompt).text
    if op == "stream_text":
        return "".join(client.stream_text(prompt))
    prediction = client.predictions.create("gemma-2b", input={"prompt": prompt})
    call.step(deadline)  # create and wait each have their own deadline
    return prediction.wait(timeout=deadline).text


async def async_call(client: AsyncClient, op: str, prompt: str, call: Call, deadline: float) -> str:
    """Run one operation through `client`; return the text it produced."""
    if op == "generate_text":
        return (await client.generate_text(prompt)).text
    if op == "stream_text":
        return "".join([chunk async for chunk in client.stream_text(prompt)])
    prediction = await client.predictions.create("gemma-2b", input={"prompt": prompt})
    call.step(deadline)
    return (await prediction.wait(timeout=deadline)).text


def run_sync_lane(
    lane: Lane,
    url: str,
    scenario: Scenario,
    stop_at: float,
    concurrency: int,
    max_retries: int,
    tally: Tally,
) -> None:
    """Run `concurrency` threads sharing one `Client` until `stop_at`; then let them finish."""
    deadline = scenario.wait_timeout
    client = sync_client(lane, url, scenario, max_retries)

    def worker(number: int) -> None:
        """Call in a loop until `stop_at`, counting each call."""
        turn = 0
        while time.monotonic() < stop_at:
            op = OPS[(number + turn) % len(OPS)]
            prompt = f"{scenario.name} {lane.key} {number} {turn}"
            turn += 1
            call = tally.begin(op)
            token = CURRENT.set(call)
            text: str | None = None
            error: BaseException | None = None
            try:
                text = sync_call(client, op, prompt, call, deadline)
            except Exception as exc:
                error = exc
            finally:
                CURRENT.reset(token)
                call.step(deadline)
            tally.record(call, text, error, emulated_text(GEMMA, prompt), scenario)

    threads = [
        threading.Thread(target=worker, args=(n,), name=f"{lane.key}-{n}", daemon=True)
        for n in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    # A last call may start just before `stop_at`: create and wait each have the deadline.
    give_up = stop_at + 2 * (deadline + SLACK) + GRACE
    for thread in threads:
        thread.join(max(0.0, give_up - time.monotonic()))
    if tally.abandon() == 0:
        client.close()  # with a call still stuck in it, leave it: the process will end


def run_async_lane(
    lane: Lane,
    url: str,
    scenario: Scenario,
    stop_at: float,
    concurrency: int,
    max_retries: int,
    tally: Tally,
) -> None:
    """Run `concurrency` tasks sharing one `AsyncClient` until `stop_at`, on a loop of its own."""
    deadline = scenario.wait_timeout

    async def worker(client: AsyncClient, number: int) -> None:
        """Call in a loop until `stop_at`, counting each call."""
        turn = 0
        while time.monotonic() < stop_at:
            op = OPS[(number + turn) % len(OPS)]
            prompt = f"{scenario.name} {lane.key} {number} {turn}"
            turn += 1
            call = tally.begin(op)
            token = CURRENT.set(call)
            text: str | None = None
            error: BaseException | None = None
            try:
                text = await async_call(client, op, prompt, call, deadline)
            except Exception as exc:
                error = exc
            finally:
                CURRENT.reset(token)
                call.step(deadline)
            tally.record(call, text, error, emulated_text(GEMMA, prompt), scenario)

    async def main() -> None:
        """Run the workers, then cancel those past the time they had to return."""
        async with async_client(lane, url, scenario, max_retries) as client:
            tasks = [asyncio.create_task(worker(client, n)) for n in range(concurrency)]
            give_up = stop_at + 2 * (deadline + SLACK) + GRACE
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, give_up - time.monotonic()))
            tally.abandon()
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    asyncio.run(main())


@dataclass
class Server:
    """A running `replicatehome serve`: where it listens, its pid, and its access log."""

    url: str
    pid: int
    log: Path


@contextmanager
def served(scenario: Scenario, folder: Path) -> Iterator[Server]:
    """`replicatehome serve` with the scenario's faults, in its own process, for the block."""
    port = free_port()
    flags = ["--duration", str(PROCESSING), "--starting", str(STARTING)]
    flags += ["--log-level", "info", *scenario.flags]  # info: the access log counts creates
    log = folder / f"{scenario.name}.access.log"
    errors = folder / f"{scenario.name}.stderr.log"
    with serving(port, flags, log, err=errors) as pid:
        yield Server(f"http://127.0.0.1:{port}", pid, log)


@dataclass
class ServerCounts:
    """What the server's access log says it did."""

    creates: int = 0
    statuses: Counter[str] = field(default_factory=Counter)


def read_access_log(path: Path) -> ServerCounts:
    """Count the predictions created (201 answers to creates), and the statuses of creates and
    polls (``-`` for an answer cut off)."""
    counts = ServerCounts()
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            match = ACCESS.search(line)
            if match is None:
                continue
            status, path_only = match["status"], match["path"].partition("?")[0]
            create = match["method"] == "POST" and CREATE_PATH.match(path_only)
            if create or (match["method"] == "GET" and POLL_PATH.match(path_only)):
                # Only where faults are injected: a stream the client leaves is cut off too.
                counts.statuses[status] += 1
            if create and status == "201":
                counts.creates += 1
    return counts


def rss_kib(pid: int | None = None) -> int | None:
    """The resident set size of `pid` (default: this process), from ``/proc``, in KiB."""
    try:
        status = Path(f"/proc/{pid or 'self'}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


class Sampler:
    """Samples this process's RSS (and a server's) every `interval` seconds, in a thread."""

    def __init__(self, interval: float) -> None:
        """Take the first sample now; call `start` to go on."""
        self.interval = interval
        self.began = time.monotonic()
        self.samples: list[tuple[float, int]] = []
        self.server_pid: int | None = None
        self.server_max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.sample()

    def sample(self) -> None:
        """Record one sample of each process."""
        own = rss_kib()
        if own is None:  # no /proc: the peak so far is all there is (KiB on Linux)
            own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.samples.append((time.monotonic() - self.began, own))
        if self.server_pid is not None:
            self.server_max = max(self.server_max, rss_kib(self.server_pid) or 0)

    def _run(self) -> None:
        """The sampling thread."""
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> None:
        """Sample in the background until `stop`."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling, and take a last sample."""
        self._stop.set()
        self._thread.join()
        self.sample()


@dataclass
class Outcome:
    """One scenario's results: a tally per lane, the server's counts, and its memory."""

    scenario: Scenario
    seconds: float
    tallies: dict[Lane, Tally]
    server: ServerCounts
    server_rss_max: int
    client_rss_end: int

    @property
    def client_creates(self) -> int:
        """Predictions the calls saw created, over all lanes."""
        return sum(len_created(t) for t in self.tallies.values())

    @property
    def unaccounted(self) -> int:
        """Predictions the server created that no call saw created."""
        return self.server.creates - self.client_creates


def len_created(tally: Tally) -> int:
    """Predictions the lane's calls saw created, counting a call's duplicates too."""
    return tally.created + tally.duplicated


def run_scenario(
    scenario: Scenario,
    seconds: float,
    concurrency: int,
    max_retries: int,
    folder: Path,
    sampler: Sampler,
) -> Outcome:
    """Run every lane against one server for `seconds`, and count what happened."""
    tallies = {lane: Tally() for lane in LANES}
    with served(scenario, folder) as server:
        sampler.server_pid, sampler.server_max = server.pid, 0
        stop_at = time.monotonic() + seconds
        started = time.monotonic()
        threads = []
        for index, lane in enumerate(LANES):
            run = run_sync_lane if lane.client == "Client" else run_async_lane
            share = concurrency // len(LANES) + (index < concurrency % len(LANES))
            args = (lane, server.url, scenario, stop_at, share, max_retries, tallies[lane])
            threads.append(threading.Thread(target=run, args=args, name=lane.key, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        sampler.sample()
        server_rss_max = sampler.server_max
        sampler.server_pid = None
    counts = read_access_log(server.log)
    gc.collect()
    return Outcome(scenario, elapsed, tallies, counts, server_rss_max, rss_kib() or 0)


def mib(kib: int) -> str:
    """`kib` KiB, in MiB, for the report."""
    return f"{kib / 1024:.1f} MiB"


def report(
    outcomes: list[Outcome], sampler: Sampler, args: argparse.Namespace, wall: float
) -> bool:
    """Print the Markdown report; return whether every promise held."""
    cpus = os.cpu_count() or 0
    print(f"Command: `{args.command}`  ")
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {cpus} CPUs, "
        f"{time.strftime('%Y-%m-%d')}; {wall:.0f} s in all."
    )
    print()
    print(
        f"Each scenario runs its own `replicatehome serve` (predictions: {STARTING} s starting, "
        f"{PROCESSING} s processing). Against it, {args.concurrency} concurrent calls, shared by "
        "the four client and protocol pairs (threads sharing one `Client`, tasks sharing one "
        "`AsyncClient`), each call in turn "
        "`generate_text`, `stream_text`, or `predictions.create` then `wait`; "
        f"clients with `max_retries={args.max_retries}`."
    )
    print()
    print("| scenario | faults | deadline |")
    print("|---|---|---|")
    for outcome in outcomes:
        scenario = outcome.scenario
        flags = " ".join(scenario.flags)
        print(f"| {scenario.name} | {scenario.summary} (`{flags}`) | {scenario.wait_timeout:g} s |")
    print()
    print(
        "| scenario | client | protocol | calls | succeeded | prediction failed "
        "| other errors, by type | gave up | lost | duplicated | hung | median call "
        "| latest vs deadline |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for outcome in outcomes:
        for lane, tally in outcome.tallies.items():
            errors = ", ".join(f"{name} {count}" for name, count in tally.errors.most_common())
            median = statistics.median(tally.seconds) if tally.seconds else 0.0
            worst = f"{tally.worst_overrun:+.2f} s" if tally.calls else "n/a"
            print(
                f"| {outcome.scenario.name} | `{lane.client}` | {lane.protocol} | {tally.calls} "
                f"| {tally.succeeded} | {tally.failed} | {errors or '-'} | {tally.gave_up} "
                f"| {tally.lost} "
                f"| {tally.duplicated} | {tally.hung} | {median:.2f} s | {worst} |"
            )
            bad = tally.lost + tally.duplicated + tally.hung + tally.wrong + tally.untyped
            ok = ok and bad == 0 and tally.calls > 0
    print()
    print(
        "| scenario | seconds | predictions created (server log) | seen created by calls "
        "| created, unseen (lost) | 429 | 5xx | dropped | server RSS max | client RSS after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for outcome in outcomes:
        statuses = outcome.server.statuses
        errors_5xx = sum(n for status, n in statuses.items() if status.startswith("5"))
        print(
            f"| {outcome.scenario.name} | {outcome.seconds:.0f} | {outcome.server.creates} "
            f"| {outcome.client_creates} | {outcome.unaccounted} | {statuses['429']} "
            f"| {errors_5xx} | {statuses['-']} | {mib(outcome.server_rss_max)} "
            f"| {mib(outcome.client_rss_end)} |"
        )
        ok = ok and outcome.unaccounted == 0
    print()
    values = [kib for _, kib in sampler.samples]
    print("| client process RSS | start | max | end | samples |")
    print("|---|---|---|---|---|")
    print(
        f"| every {sampler.interval:g} s | {mib(values[0])} | {mib(max(values))} "
        f"| {mib(values[-1])} | {len(values)} |"
    )
    step = max(1, len(sampler.samples) // 12)
    shown = sampler.samples[::step]
    print()
    print("RSS over time: " + ", ".join(f"{t:.0f} s {kib / 1024:.0f}" for t, kib in shown) + " MiB")
    problems = [
        f"- {outcome.scenario.name}, {lane.key}: {text}"
        for outcome in outcomes
        for lane, tally in outcome.tallies.items()
        for text in tally.problems
    ]
    examples: dict[tuple[str, str], str] = {}
    for outcome in outcomes:
        for tally in outcome.tallies.values():
            for name, text in tally.examples.items():
                examples.setdefault((outcome.scenario.name, name), text)
    if examples:
        print()
        print("One error of each type, per scenario:")
        print()
        for (scenario_name, name), text in examples.items():
            print(f"- {scenario_name}: {name}: {text[:400]}")
    notes = [
        f"- {outcome.scenario.name}, {lane.key}: {text}"
        for outcome in outcomes
        for lane, tally in outcome.tallies.items()
        for text in tally.notes
    ]
    if notes:
        print()
        print("Calls that gave up (examples):")
        print()
        print("\n".join(notes[:5]))
    print()
    if ok:
        print(
            "**All promises held**: nothing lost, duplicated, hung or wrong, and every error "
            "a `ReplicateHomeError`."
        )
    else:
        print("**Promises broken.** Examples:")
        print()
        print("\n".join(problems) or "- a lane made no call at all")
    return ok


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=600.0, help="seconds of load, shared by the scenarios"
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help=f"16 s over the {' and '.join(SHORT)} scenarios only (for CI)",
    )
    parser.add_argument(
        "-n",
        "--concurrency",
        type=int,
        default=50,
        help="concurrent calls in all, shared by the four client and protocol pairs (default 50)",
    )
    parser.add_argument(
        "--scenarios",
        default=None,
        help="comma-separated scenarios to run (default: all): "
        + ", ".join(s.name for s in SCENARIOS),
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=8,
        help="the clients' max_retries (default 8; at the SDK's default of 2, three faults in a "
        "row on one poll end a `generate_text`, whose error has no id: lost)",
    )
    parser.add_argument("--sample", type=float, default=2.0, help="seconds between RSS samples")
    args = parser.parse_args(argv)
    if args.concurrency < len(LANES):
        parser.error(f"--concurrency must be at least {len(LANES)}, one call per lane")
    args.command = shlex.join(["python", "benchmarks/soak.py", *(argv or sys.argv[1:])])
    names = SHORT if args.short else (args.scenarios or ",".join(s.name for s in SCENARIOS))
    if args.short:
        args.duration = 16.0
        args.sample = 1.0
    chosen = names.split(",") if isinstance(names, str) else list(names)
    known = {s.name: s for s in SCENARIOS}
    unknown = [name for name in chosen if name not in known]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(known)}")
    args.chosen = [known[name] for name in chosen]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios one after another, print the report, and say how it went."""
    args = parse_args(argv)
    handler = CallLog()
    sdk_logger = logging.getLogger("replicatehome")
    sdk_logger.addHandler(handler)
    sdk_logger.setLevel(logging.INFO)
    sdk_logger.propagate = False  # retries are logged at INFO too: keep them off stderr
    seconds = args.duration / len(args.chosen)
    sampler = Sampler(args.sample)
    sampler.start()
    began = time.monotonic()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="replicatehome-soak-") as folder:
        for scenario in args.chosen:
            print(f"soak: {scenario.name} for {seconds:.0f} s...", file=sys.stderr, flush=True)
            outcomes.append(
                run_scenario(
                    scenario, seconds, args.concurrency, args.max_retries, Path(folder), sampler
                )
            )
    sampler.stop()
    ok = report(outcomes, sampler, args, time.monotonic() - began)
    sys.stdout.flush()
    if any(t.stuck for o in outcomes for t in o.tallies.values()):
        os._exit(1)  # a stuck thread would keep the interpreter from exiting
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
