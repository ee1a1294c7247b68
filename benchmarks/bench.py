"""This project against the SDKs people would pick instead, side by side, in one run.

    uv run nox -s bench                    # the full run; writes docs/benchmarks.md and its plot
    uv run nox -s bench -- --quick         # under 3 minutes, to try things; writes nothing
    uv run --with matplotlib python benchmarks/bench.py --setup --quick

Every client runs in an interpreter of its own, from a runner script in ``benchmarks/peers/``:

- this project, from the working tree as it is now (installed editable, with its locked
  dependencies and no dev tools, in ``.nox/bench-venvs/replicatehome``), on the homepage
  protocol and on the official ``/v1`` API;
- replicate-python 1.0.7 and replicate 2.0.0b4 (a pre-release), each in its own venv under
  ``.nox/bench-venvs/``, so that neither enters the project's lock;
- the seed's fixed 5 s polling schedule, replayed with plain httpx, for the waiting figures.

``--setup`` builds those venvs with uv (``nox -s bench`` passes it). Without them, this project
runs in the current interpreter and the peers are left out.

All of them talk to ``replicatehome serve``, in its own process on 127.0.0.1, run from this
interpreter with ``--starting 0.3 --duration-from-input bench_seconds``, so that each prediction
processes for as long as its input asks. The server's access log counts the polls: a homepage
poll carries its id in the query string, which the log leaves out, so it is counted for the
prediction the client created last (every waiting figure is sequential).

The figures (issue 10):

1. ``import`` alone: ``python -c "import X"`` minus ``python -c pass``, median of 9, the clients
   taking turns;
2. cold start: a whole process that imports, makes a client and creates one prediction,
   median of 7;
3. CPU time of the client's process (`time.process_time`: the server is another) per
   create + get, 300 rounds on one sync client; the median of 5 processes, taking turns;
4. how long after its end a prediction is seen, for 10 predictions of 0.3 to 6.3 s in turn,
   each on a fresh client (its first sight of the model): median lag and polls in all;
5. the same for predictions of 2.3 s once the client has seen 3 of them: median lag and polls
   per prediction;
6. 1000 concurrent 2.3 s predictions on one async client, each client against a fresh server:
   wall time, how many succeed, peak RSS.

The lag is the time from the server's ``completed_at`` to the client's return, both read from
the same wall clock. Prints a Markdown report on stdout (progress on stderr); the full run also
rewrites the results part of ``docs/benchmarks.md`` and ``docs/benchmarks-overshoot.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Final

from _serve import ACCESS, CREATE_PATH, free_port, serving

ROOT: Final = Path(__file__).resolve().parent.parent
PEERS: Final = ROOT / "benchmarks" / "peers"
VENVS: Final = ROOT / ".nox" / "bench-venvs"
DOC: Final = ROOT / "docs" / "benchmarks.md"
PLOT: Final = ROOT / "docs" / "benchmarks-overshoot.png"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
"""The part of `DOC` a full run rewrites; the prose around it is kept."""

STARTING: Final = 0.3
"""Seconds every prediction spends ``starting``; the input sets the processing time."""
DURATION_KEY: Final = "bench_seconds"
LONG_PREDICTION: Final = 2.3
"""Seconds from create to end of the predictions of figures 5 and 6."""
MIXED_ORDER: Final = (4, 0, 7, 2, 9, 5, 1, 8, 3, 6)
"""Figure 4's predictions last 0.3 + 6 k / 9 s, for k in this order (not sorted, so a client
cannot do well by expecting each one to be longer than the last)."""

PEER_SPECS: Final = {"replicate-1": "replicate==1.0.7", "replicate-2": "replicate==2.0.0b4"}
OURS_VENV: Final = "replicatehome"
SCRUBBED_ENV: Final = (
    "REPLICATE_API_TOKEN",
    "REPLICATE_BASE_URL",
    "REPLICATE_POLL_INTERVAL",
    "REPLICATEHOME_BASE_URL",
    "REPLICATEHOME_LOG",
    "PYTHONPATH",
)

OFFICIAL_GET: Final = re.compile(r"^/v1/predictions/(?P<id>[^/]+)(/stream)?$")


# --- what is run ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Runner:
    """One column of the table: a client, the interpreter it runs in, and its runner script."""

    key: str
    title: str
    python: Path | None
    script: str
    protocol: str | None = None
    module: str | None = None
    """What ``import`` measures; ``None`` for a column that shares another's import."""

    @property
    def available(self) -> bool:
        return self.python is not None

    def command(self, *args: str) -> list[str]:
        assert self.python is not None
        extra = ["--protocol", self.protocol] if self.protocol and args[0] != "cold" else []
        return [str(self.python), str(PEERS / self.script), *args, *extra]


@dataclass(frozen=True, slots=True)
class Plan:
    """How much of each figure to run."""

    import_runs: int
    cold_runs: int
    cpu_rounds: int
    mixed: tuple[float, ...]
    """Seconds from create to end of figure 4's predictions."""
    warmup: int
    repeated: int
    concurrent: int
    cpu_runs: int
    """Processes per client for figure 3, the clients taking turns."""

    @classmethod
    def full(cls) -> Plan:
        mixed = tuple(round(STARTING + 6 * k / 9, 3) for k in MIXED_ORDER)
        return cls(9, 7, 300, mixed, 3, 10, 1000, 5)

    @classmethod
    def quick(cls) -> Plan:
        return cls(3, 3, 50, (1.3, 0.3), 1, 2, 100, 2)


class RunnerError(RuntimeError):
    """A runner failed; its cell says so and the run goes on."""


def clean_env() -> dict[str, str]:
    """This environment without what would point a client elsewhere or change its polling."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wall(command: Sequence[str]) -> float:
    """Seconds a process takes from start to exit."""
    started = time.perf_counter()
    completed = subprocess.run(command, env=clean_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if completed.returncode:
        raise RunnerError(f"{' '.join(command)} failed: {completed.stderr.strip()[-500:]}")
    return elapsed


def call(runner: Runner, *args: str, timeout: float = 900) -> object:
    """Run `runner` and return the JSON it prints."""
    command = runner.command(*args)
    try:
        completed = subprocess.run(
            command, env=clean_env(), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as error:
        raise RunnerError(f"{runner.title}: timed out after {timeout:.0f} s") from error
    if completed.returncode:
        raise RunnerError(f"{runner.title}: {completed.stderr.strip()[-500:]}")
    lines = completed.stdout.strip().splitlines()
    if not lines:
        raise RunnerError(f"{runner.title}: printed nothing")
    result: object = json.loads(lines[-1])
    return result


_STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"{time.monotonic() - _STARTED:5.0f} s  {message}", file=sys.stderr, flush=True)


# --- setup ------------------------------------------------------------------------------------


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def venv_python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def setup() -> None:
    """Build the clients' venvs under `VENVS`, with this interpreter's Python.

    This project's is a `uv sync` of the lock without dev tools: the project installed
    editable, so every run measures the working tree as it is. The peers' are plain venvs with
    the pinned release and its dependencies. Every one is byte-compiled, as ``pip install``
    leaves a package: where ``PYTHONDONTWRITEBYTECODE`` is set (as on the machines this runs
    on), an import would otherwise compile every module from source, every time.
    """
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENVS / OURS_VENV)}
    command = [*uv(), "sync", "--locked", "--no-dev", "--python", sys.executable, "--quiet"]
    subprocess.run([*command, "--compile-bytecode"], cwd=ROOT, env=env, check=True)
    # The editable project itself is not in site-packages: compile the working tree's package.
    compile_ours = [str(venv_python(OURS_VENV)), "-m", "compileall", "-q", "replicatehome"]
    subprocess.run(compile_ours, cwd=ROOT, check=True)
    for name, spec in PEER_SPECS.items():
        if not venv_python(name).exists():
            command = [*uv(), "venv", "--quiet", "--python", sys.executable, str(VENVS / name)]
            subprocess.run(command, check=True)
        command = [*uv(), "pip", "install", "--quiet", "--compile-bytecode"]
        command += ["--python", str(venv_python(name)), spec]
        subprocess.run(command, check=True)


def version_of(python: Path, package: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return result.stdout.strip() or "?"


def runners(ours: Path) -> list[Runner]:
    """Every column, in order; a peer whose venv is missing has no interpreter."""
    found = {name: venv_python(name) for name in PEER_SPECS if venv_python(name).exists()}
    r1, r2 = found.get("replicate-1"), found.get("replicate-2")
    title1 = f"replicate-python {version_of(r1, 'replicate')}" if r1 else "replicate-python 1.x"
    title2 = f"replicate {version_of(r2, 'replicate')}" if r2 else "replicate 2.x"
    sdk = "replicatehome_sdk.py"
    return [
        Runner("ours", "this project (homepage)", ours, sdk, "homepage", "replicatehome"),
        Runner("ours-v1", "this project (official /v1)", ours, sdk, "official"),
        Runner("r1", title1, r1, "replicate_1.py", module="replicate"),
        Runner("r2", title2, r2, "replicate_2.py", module="replicate"),
        Runner("seed", "seed (fixed 5 s)", ours, "seed_5s.py"),
    ]


# --- the server -------------------------------------------------------------------------------


@dataclass
class Server:
    """A running `replicatehome serve`: where it listens, and its access log (or ``None``)."""

    url: str
    log: Path | None
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user and system)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def mark(self) -> int:
        """Where the access log ends now."""
        return self.log.stat().st_size if self.log else 0

    def requests_since(self, mark: int) -> list[tuple[str, str]]:
        """(method, path) of each request logged since `mark`, in order."""
        if self.log is None:
            return []
        time.sleep(0.3)  # Hypercorn logs a request once it has answered it
        with self.log.open("rb") as file:
            file.seek(mark)
            text = file.read().decode("utf-8", "replace")
        return [(m["method"], m["path"]) for m in map(ACCESS.search, text.splitlines()) if m]


@contextmanager
def served(folder: Path, *, access_log: bool) -> Iterator[Server]:
    """`replicatehome serve` from this interpreter's project, for the block."""
    port = free_port()
    flags = ["--starting", str(STARTING), "--duration", "2.0"]
    flags += ["--duration-from-input", DURATION_KEY]
    flags += ["--log-level", "info" if access_log else "warning"]
    log = folder / f"serve-{port}.log"
    with serving(port, flags, log, env=clean_env()) as pid:
        yield Server(f"http://127.0.0.1:{port}", log if access_log else None, pid)


def count_polls(requests: list[tuple[str, str]], ids: list[str]) -> dict[str, int]:
    """GETs of each prediction (polls and event streams), from the access log of a sequential
    run that created the predictions `ids`, in that order."""
    counts = dict.fromkeys(ids, 0)
    order = iter(ids)
    current: str | None = None
    creates = 0
    for method, path in requests:
        bare = path.partition("?")[0]
        if method == "POST" and CREATE_PATH.match(bare):
            current = next(order, None)
            creates += 1
        elif method == "GET" and bare == "/api/poll":
            if current is not None:
                counts[current] += 1
        elif method == "GET" and (match := OFFICIAL_GET.match(bare)) and match["id"] in counts:
            counts[match["id"]] += 1
    if creates != len(ids):
        progress(f"  warning: the log shows {creates} creates for {len(ids)} predictions")
    return counts


# --- measurements -----------------------------------------------------------------------------


@dataclass
class Cell:
    """One measurement: the text of its cell, and the numbers the target is checked against."""

    text: str
    values: dict[str, float] = field(default_factory=dict)


@dataclass
class Lagged:
    """One prediction of figures 4 and 5, as the driver sees it."""

    figure: str
    client: str
    duration: float
    lag: float
    polls: int
    warmup: bool


@dataclass
class Results:
    """Everything measured: a cell per figure and column, notes, and the raw lags."""

    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    lags: list[Lagged] = field(default_factory=list)

    def put(self, figure: str, key: str, cell: Cell) -> None:
        self.cells.setdefault(figure, {})[key] = cell


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def lag_text(seconds: float) -> str:
    return ms(seconds) if abs(seconds) < 1 else f"{seconds:.2f} s"


def failed(results: Results, figure: str, runner: Runner, error: RunnerError) -> None:
    """Write `runner`'s failure in its cell of `figure` and in the notes; the run goes on."""
    progress(f"  {runner.title}: FAILED {error}")
    results.put(figure, runner.key, Cell("failed"))
    results.notes.append(f"{figure}, {runner.title}: {error}")


def guarded(results: Results, figure: str, runner: Runner, measure: Callable[[], Cell]) -> None:
    """Measure one cell; a failure is written in the cell, and the run goes on."""
    try:
        results.put(figure, runner.key, measure())
    except RunnerError as error:
        failed(results, figure, runner, error)


def measure_imports(results: Results, columns: list[Runner], runs: int) -> None:
    """Figure 1: each interpreter in turn, one uncounted round first (it writes bytecode)."""
    measured = [r for r in columns if r.module and r.available]
    bare: dict[str, list[float]] = {r.key: [] for r in measured}
    full: dict[str, list[float]] = {r.key: [] for r in measured}
    for round_ in range(runs + 1):
        for r in measured:
            assert r.python is not None
            assert r.module is not None
            start = wall([str(r.python), "-c", "pass"])
            imported = wall([str(r.python), "-c", f"import {r.module}"])
            if round_:
                bare[r.key].append(start)
                full[r.key].append(imported)
    for r in measured:
        whole, start = statistics.median(full[r.key]), statistics.median(bare[r.key])
        results.put("import", r.key, Cell(ms(whole - start), {"s": whole - start}))
        results.notes.append(
            f"import, {r.title}: {ms(whole)} with the interpreter's start, which alone takes "
            f"{ms(start)}"
        )
        progress(f"  {r.title}: {ms(whole - start)}")


def measure_cold(results: Results, columns: list[Runner], url: str, runs: int) -> None:
    """Figure 2: whole processes, the clients taking turns, one uncounted round first."""
    measured = [r for r in columns if r.key != "seed" and r.available]
    walls: dict[str, list[float]] = {r.key: [] for r in measured}
    broken: set[str] = set()
    for round_ in range(runs + 1):
        for r in measured:
            if r.key in broken:
                continue
            args = ["cold", url] + ([r.protocol] if r.protocol else [])
            try:
                elapsed = wall(r.command(*args))
            except RunnerError as error:
                broken.add(r.key)
                results.put("cold", r.key, Cell("failed"))
                results.notes.append(f"cold start, {r.title}: {error}")
                continue
            if round_:
                walls[r.key].append(elapsed)
    for r in measured:
        if r.key not in broken:
            median = statistics.median(walls[r.key])
            results.put("cold", r.key, Cell(ms(median), {"s": median}))
            progress(f"  {r.title}: {ms(median)}")


def measure_cpu(results: Results, columns: list[Runner], url: str, plan: Plan) -> None:
    """Figure 3: `plan.cpu_runs` processes per client, the clients taking turns; the median.

    One process's CPU per round drifts by a fifth from run to run on a shared machine; taking
    turns spreads the drift over every client.
    """
    measured: dict[str, list[tuple[float, float]]] = {r.key: [] for r in columns}
    for _ in range(plan.cpu_runs):
        for r in columns:
            if r.key not in measured:
                continue
            try:
                data = call(r, "cpu", url, "--rounds", str(plan.cpu_rounds))
            except RunnerError as error:
                del measured[r.key]
                failed(results, "cpu", r, error)
                continue
            assert isinstance(data, dict)
            measured[r.key].append((float(data["cpu"]), float(data["wall"])))
    for r in columns:
        if r.key not in measured:
            continue
        cpu = statistics.median(c for c, _ in measured[r.key])
        elapsed = statistics.median(w for _, w in measured[r.key])
        runs = ", ".join(f"{c * 1e6:.0f}" for c, _ in measured[r.key])
        results.notes.append(
            f"create + get, {r.title}: {cpu * 1e6:.0f} µs CPU and {elapsed * 1e3:.2f} ms wall "
            f"per round, medians of {plan.cpu_runs} runs of {plan.cpu_rounds} rounds "
            f"(CPU: {runs} µs)"
        )
        progress(f"  {r.title}: {cpu * 1e6:.0f} µs")
        results.put("cpu", r.key, Cell(f"{cpu * 1e6:.0f} µs", {"s": cpu}))


def follow(
    results: Results, r: Runner, server: Server, args: list[str], figure: str
) -> list[Lagged]:
    """Run a waiting figure, and match its predictions with the polls the server saw."""
    mark = server.mark()
    data = call(r, *args)
    assert isinstance(data, list)
    ids = [str(item["id"]) for item in data]
    polls = count_polls(server.requests_since(mark), ids)
    lagged = []
    for item in data:
        if item["status"] != "succeeded":
            raise RunnerError(f"{item['id']} ended {item['status']}")
        lagged.append(
            Lagged(
                figure,
                r.key,
                float(item["completed_at"]) - float(item["created_at"]),
                float(item["returned"]) - float(item["completed_at"]),
                polls[str(item["id"])],
                bool(item["warmup"]),
            )
        )
    results.lags.extend(lagged)
    return lagged


def measure_mixed(results: Results, r: Runner, server: Server, plan: Plan) -> Cell:
    """Figure 4."""
    durations = ",".join(f"{total - STARTING:.3f}" for total in plan.mixed)
    lagged = follow(results, r, server, ["mixed", server.url, "--durations", durations], "mixed")
    median = statistics.median(x.lag for x in lagged)
    polls = sum(x.polls for x in lagged)
    worst = max(x.lag for x in lagged)
    results.notes.append(
        f"mixed, {r.title}: lags {', '.join(lag_text(x.lag) for x in lagged)} (worst "
        f"{lag_text(worst)}); polls {', '.join(str(x.polls) for x in lagged)}"
    )
    progress(f"  {r.title}: {lag_text(median)} median, {polls} polls")
    return Cell(f"{lag_text(median)} median, {polls} polls in all", {"lag": median, "polls": polls})


def measure_repeated(results: Results, r: Runner, server: Server, plan: Plan) -> Cell:
    """Figure 5."""
    args = ["repeated", server.url, "--seconds", f"{LONG_PREDICTION - STARTING:.3f}"]
    # The seed's schedule has no memory to warm up.
    args += ["--warmup", str(0 if r.key == "seed" else plan.warmup), "--count", str(plan.repeated)]
    lagged = [x for x in follow(results, r, server, args, "repeated") if not x.warmup]
    median = statistics.median(x.lag for x in lagged)
    polls = statistics.median(x.polls for x in lagged)
    results.notes.append(
        f"repeated, {r.title}: lags {', '.join(lag_text(x.lag) for x in lagged)}; "
        f"polls {', '.join(str(x.polls) for x in lagged)}"
    )
    progress(f"  {r.title}: {lag_text(median)} median, {polls:g} polls each")
    return Cell(f"{lag_text(median)} median, {polls:g} polls each", {"lag": median, "polls": polls})


def measure_concurrent(results: Results, r: Runner, folder: Path, plan: Plan) -> Cell:
    """Figure 6, against a fresh server that logs nothing (the log would be its bottleneck)."""
    with served(folder, access_log=False) as server:
        args = ["concurrent", server.url, "--count", str(plan.concurrent)]
        server_cpu = server.cpu_seconds()
        data = call(r, *args, "--seconds", f"{LONG_PREDICTION - STARTING:.3f}")
        server_cpu = server.cpu_seconds() - server_cpu
    assert isinstance(data, dict)
    elapsed, succeeded = float(data["wall"]), int(data["succeeded"])
    peak, before = int(data["peak_rss_kib"]) / 1024, int(data["rss_before_kib"]) / 1024
    failures = data["failures"]
    text = f"{elapsed:.1f} s, {succeeded}/{plan.concurrent} ok, {peak:.0f} MB"
    note = (
        f"concurrent, {r.title}: {elapsed:.2f} s, {float(data['cpu']):.1f} s of CPU; "
        f"peak RSS {peak:.0f} MB, "
        f"{peak - before:+.0f} MB over the RSS before the predictions started; the server "
        f"used {server_cpu:.1f} s of CPU meanwhile (one core at most)"
    )
    if failures:
        note += f"; failures {failures}, the first: {data['first_error']}"
    results.notes.append(note)
    progress(f"  {text}")
    values = {"wall": elapsed, "ok": float(succeeded == plan.concurrent), "mb": peak}
    return Cell(text, values)


# --- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One row: its name, its target in words, and the check of this project against a peer."""

    key: str
    title: str
    target: str
    check: Callable[[dict[str, float], dict[str, float], dict[str, float]], bool]
    """Takes the values of this project (homepage), replicate-python 1.x and replicate 2.x."""


FIGURES: Final = [
    Figure(
        "import",
        "`import` alone, median of {import_runs}",
        "≤ 0.6x replicate-python 1.x, and below replicate 2.x",
        lambda ours, r1, r2: ours["s"] <= 0.6 * r1["s"] and ours["s"] < r2.get("s", 1e9),
    ),
    Figure(
        "cold",
        "cold start: import, make a client, create one prediction; whole process, "
        "median of {cold_runs}",
        "≤ 0.8x replicate-python 1.x",
        lambda ours, r1, r2: ours["s"] <= 0.8 * r1["s"],
    ),
    Figure(
        "cpu",
        "CPU per create + get (sync, median of {cpu_runs} x {cpu_rounds} rounds)",
        "≤ 0.8x replicate-python 1.x",
        lambda ours, r1, r2: ours["s"] <= 0.8 * r1["s"],
    ),
    Figure(
        "mixed",
        "end of a prediction seen after it ends ({mixed_range}, {mixed_count} predictions, "
        "first time for the model)",
        "≤ replicate-python 1.x on both",
        lambda ours, r1, r2: ours["lag"] <= r1["lag"] and ours["polls"] <= r1["polls"],
    ),
    Figure(
        "repeated",
        "the same, once the client has seen the model ({repeated} x {long} s predictions, "
        "after {warmup})",
        "≤ 60 ms, ≤ 4 polls",
        lambda ours, r1, r2: ours["lag"] <= 0.060 and ours["polls"] <= 4,
    ),
    Figure(
        "concurrent",
        "{concurrent} concurrent {long} s predictions on one async client: wall, succeeded, "
        "peak RSS",
        "≤ 0.25x replicate-python 1.x's wall, all succeed, memory ≤ its",
        lambda ours, r1, r2: (
            ours["wall"] <= 0.25 * r1["wall"] and ours["ok"] == 1 and ours["mb"] <= r1["mb"]
        ),
    ),
]


def verdict(figure: Figure, cells: dict[str, Cell]) -> str:
    ours, r1, r2 = cells.get("ours"), cells.get("r1"), cells.get("r2")
    if ours is None or r1 is None or not ours.values or not r1.values:
        return "—"
    return "yes" if figure.check(ours.values, r1.values, r2.values if r2 else {}) else "**no**"


def table(results: Results, columns: list[Runner], plan: Plan) -> str:
    words = {
        "import_runs": plan.import_runs,
        "cold_runs": plan.cold_runs,
        "cpu_rounds": plan.cpu_rounds,
        "cpu_runs": plan.cpu_runs,
        "mixed_range": f"{min(plan.mixed):g} to {max(plan.mixed):g} s",
        "mixed_count": len(plan.mixed),
        "repeated": plan.repeated,
        "long": LONG_PREDICTION,
        "warmup": plan.warmup,
        "concurrent": plan.concurrent,
    }
    header = ["figure", *(r.title for r in columns), "target", "met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for figure in FIGURES:
        cells = results.cells.get(figure.key, {})
        row = [figure.title.format(**words)]
        for r in columns:
            cell = cells.get(r.key)
            if cell is None and figure.key == "import" and r.key == "ours-v1":
                row.append("(same)")
            elif cell is None:
                row.append("—" if r.available else "not installed")
            else:
                row.append(cell.text)
        lines.append("| " + " | ".join([*row, figure.target, verdict(figure, cells)]) + " |")
    return "\n".join(lines)


# --- the plot ---------------------------------------------------------------------------------


def plot(results: Results, columns: list[Runner], path: Path) -> bool:
    """Overshoot against prediction duration, a line per client; ``False`` without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(figsize=(8, 5.4), dpi=110)
    for r in columns:
        points = sorted(
            (x.duration, x.lag) for x in results.lags if x.client == r.key and x.figure == "mixed"
        )
        if points:
            axes.plot(*zip(*points, strict=True), marker="o", label=r.title)
    axes.set_xlabel("prediction duration, created to completed (s)")
    axes.set_ylabel("seen after its end (s, log scale)")
    axes.set_yscale("log")
    axes.set_title("How long after its end each client sees a prediction (first time)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return True


# --- the run ----------------------------------------------------------------------------------


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d %H:%M')}; working tree {commit or '?'}; "
        f"load average {load} at the start"
    )


def run(plan: Plan, ours: Path, folder: Path) -> tuple[str, Results, list[Runner]]:
    results = Results()
    columns = runners(ours)
    header = machine()
    for r in columns:
        progress(f"{r.title}: {r.python or 'not installed'}")
    ran = [r for r in columns if r.available]
    fig_ran = [r for r in ran if r.key != "seed"]
    progress(f"[1/6] import, {plan.import_runs} runs")
    measure_imports(results, columns, plan.import_runs)
    with served(folder, access_log=True) as server:
        progress(f"[2/6] cold start, {plan.cold_runs} runs")
        measure_cold(results, columns, server.url, plan.cold_runs)
        progress(f"[3/6] CPU per create + get, {plan.cpu_runs} x {plan.cpu_rounds} rounds")
        measure_cpu(results, fig_ran, server.url, plan)
        progress(f"[4/6] {len(plan.mixed)} predictions of {plan.mixed} s, fresh clients")
        for r in ran:
            guarded(results, "mixed", r, partial(measure_mixed, results, r, server, plan))
        progress(f"[5/6] {plan.warmup} + {plan.repeated} predictions of {LONG_PREDICTION} s")
        for r in ran:
            guarded(results, "repeated", r, partial(measure_repeated, results, r, server, plan))
    progress(f"[6/6] {plan.concurrent} concurrent predictions of {LONG_PREDICTION} s")
    for r in fig_ran:
        guarded(results, "concurrent", r, partial(measure_concurrent, results, r, folder, plan))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    report = "\n".join(
        [
            header + f", {load} at the end.",
            "",
            table(results, columns, plan),
            "",
            "Details:",
            "",
            *(f"- {note}" for note in results.notes),
        ]
    )
    return report, results, columns


def write_doc(report: str, plotted: bool) -> None:
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC} has no {BEGIN} ... {END} part to rewrite")
    picture = (
        f"\n\n![Overshoot against prediction duration, per client]({PLOT.name})\n"
        if plotted
        else ""
    )
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{report}{picture}\n{END}{tail}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, 100 concurrent")
    parser.add_argument("--setup", action="store_true", help="build the venvs first, with uv")
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        help="rewrite docs/benchmarks.md and its plot (default: only for a full run)",
    )
    parser.add_argument("--json", type=Path, help="also save the raw results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.setup:
        progress("building the venvs under .nox/bench-venvs")
        setup()
    ours_venv = venv_python(OURS_VENV)
    ours = ours_venv if ours_venv.exists() else Path(sys.executable)
    plan = Plan.quick() if args.quick else Plan.full()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="replicatehome-bench-") as folder:
        report, results, columns = run(plan, ours, Path(folder))
    progress(f"done in {time.monotonic() - started:.0f} s")
    print(report)
    if args.json:
        raw = {
            "cells": {
                f: {k: c.values | {"text": c.text} for k, c in cs.items()}
                for f, cs in results.cells.items()
            },
            "lags": [vars(x) for x in results.lags],
            "notes": results.notes,
        }
        args.json.write_text(json.dumps(raw, indent=1))
    if args.write if args.write is not None else not args.quick:
        plotted = plot(results, columns, PLOT)
        if not plotted:
            progress("matplotlib is not installed: no plot (nox -s bench installs it)")
        write_doc(report, plotted)
        progress(f"wrote {DOC.relative_to(ROOT)}" + (f" and {PLOT.name}" if plotted else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
