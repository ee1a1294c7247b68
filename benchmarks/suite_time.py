"""Where the test suite's time goes: wall, CPU and child-process CPU per test, across workers.

Record a run, then read the report (the CI suite is CPU-bound on two cores, so CPU is what to
cut first; wall minus CPU is waiting, or another worker holding the core)::

    PYTHONPATH=benchmarks uv run pytest -p suite_time
    uv run python benchmarks/suite_time.py          # the report, from the last recorded run

Each pytest process (the xdist controller and every worker) writes its own JSON file to
``$SUITE_TIME_DIR`` (default: the system's temporary folder, ``suite-time/``). A child's CPU is
counted for the test during which the child was reaped.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import pytest

FOLDER = Path(os.environ.get("SUITE_TIME_DIR", Path(tempfile.gettempdir(), "suite-time")))


class Row(NamedTuple):
    """One test's cost, or a process's collection or whole run (names in angle brackets)."""

    name: str
    wall: float
    cpu: float
    children: float


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


_started = (time.perf_counter(), time.process_time())
_open: dict[str, tuple[float, float, float]] = {}
_rows: list[Row] = []


def _row(name: str, since: tuple[float, float], children: float = 0.0) -> Row:
    return Row(name, time.perf_counter() - since[0], time.process_time() - since[1], children)


def pytest_sessionstart(session: pytest.Session) -> None:
    """In the controller (or a run without workers), forget the last run's files."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        for path in FOLDER.glob("*.json"):
            path.unlink()


def pytest_runtest_protocol(item: pytest.Item) -> None:
    """Start a test's clocks, in the process that runs it."""
    _open[item.nodeid] = (time.perf_counter(), time.process_time(), _children_cpu())


def pytest_runtest_logfinish(nodeid: str) -> None:
    """Stop them (the xdist controller gets this hook too, for tests it did not run)."""
    if nodeid in _open:
        wall, cpu, children = _open.pop(nodeid)
        _rows.append(_row(nodeid, (wall, cpu), _children_cpu() - children))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note what starting and collecting cost this process."""
    _rows.append(_row("<collect>", _started))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write this process's rows."""
    _rows.append(_row("<total>", _started))
    FOLDER.mkdir(parents=True, exist_ok=True)
    process = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (FOLDER / f"{process}.json").write_text(json.dumps([row._asdict() for row in _rows]))


def report(folder: Path = FOLDER, top: int = 25) -> str:
    """The processes' totals, then the test files and tests that cost the most."""
    lines: list[str] = []
    tests: list[Row] = []
    for path in sorted(folder.glob("*.json")):
        rows = [Row(**row) for row in json.loads(path.read_text())]
        totals = {row.name: row for row in rows if row.name.startswith("<")}
        lines.append(
            f"{path.stem}: "
            + ", ".join(
                f"{k[1:-1]} {v.wall:.1f} s wall, {v.cpu:.1f} s CPU" for k, v in totals.items()
            )
        )
        tests += [row for row in rows if not row.name.startswith("<")]
    lines.append(
        f"{len(tests)} tests: {sum(r.wall for r in tests):.0f} s wall, "
        f"{sum(r.cpu for r in tests):.0f} s CPU, {sum(r.children for r in tests):.0f} s in children"
    )
    files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for row in tests:
        total = files[row.name.split("::")[0]]
        total[0], total[1], total[2] = (
            total[0] + row.wall,
            total[1] + row.cpu,
            total[2] + row.children,
        )
    lines.append("\nfiles, by CPU and children's CPU:")
    for name, (wall, cpu, children) in sorted(files.items(), key=lambda f: -f[1][1] - f[1][2])[
        :top
    ]:
        lines.append(f"{cpu:6.1f} cpu {children:5.1f} children {wall:6.1f} wall  {name}")
    lines.append("\ntests, by wall:")
    for row in sorted(tests, key=lambda r: -r.wall)[:top]:
        lines.append(
            f"{row.wall:5.2f} wall {row.cpu:5.2f} cpu {row.children:5.2f} children  {row.name}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER))
