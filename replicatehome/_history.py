"""What a client has seen of past predictions, per model, so that it polls when one will end.

Sans-I/O and per client: no global state. The timings come from the server (``created_at``,
``started_at``, ``completed_at``, ``metrics.predict_time``), so each is checked before it counts,
and the memory is bounded: `PollStats.MODELS` models, the last `PollStats.RUNS` runs of each.
"""

from __future__ import annotations

import math
import statistics
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from ._models import PredictionSnapshot, PredictionStatus

__all__ = ["Expected", "PollStats"]

_LONGEST = 3600.0
"""A timing past an hour is not believed: it would only teach the client to poll late."""


@dataclass(frozen=True, slots=True)
class Expected:
    """When a prediction of one model should end, in seconds after it was created.

    Attributes:
        early: the soonest it is likely to end (about the 10th percentile, less some slack).
        late: the latest it is likely to end (about the 90th percentile, plus some slack).
        dense: how often to poll between `early` and `late`.
    """

    early: float
    late: float
    dense: float


def _sane(seconds: object) -> float | None:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return None
    if not math.isfinite(seconds) or not 0 <= seconds <= _LONGEST:
        return None
    return float(seconds)


def _run_of(snapshot: PredictionSnapshot) -> tuple[float, float] | None:
    """How long `snapshot` sat in ``starting`` and then ran, if the server says both credibly."""
    created, started, completed = snapshot.created_at, snapshot.started_at, snapshot.completed_at
    if created is None or started is None or completed is None:
        return None
    try:
        queued = _sane((started - created).total_seconds())
        ran = snapshot.metrics.predict_time if snapshot.metrics is not None else None
        running = _sane(ran if ran is not None else (completed - started).total_seconds())
    except (TypeError, OverflowError):  # one aware and one naive datetime, or out of range
        return None
    if queued is None or running is None:
        return None
    return queued, running


class PollStats:
    """Past runs per model and version, as one client saw them; see `Client.poll_stats`.

    A service can `export` what a warm process learned and `seed` a new one with it, so its
    first predictions are polled as well as its later ones.
    """

    MODELS: ClassVar[int] = 64
    """The most models remembered; the one least recently used is forgotten first."""
    RUNS: ClassVar[int] = 32
    """The most runs remembered per model; the oldest is forgotten first."""

    def __init__(self) -> None:
        self._runs: OrderedDict[str, deque[tuple[float, float]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._runs)

    @staticmethod
    def _key(model: str | None, version: str | None) -> str:
        return f"{model or ''}:{version or ''}"

    def record(self, snapshot: PredictionSnapshot) -> None:
        """Learn from a prediction that succeeded; ignore one whose timings are not credible."""
        if snapshot.status is not PredictionStatus.SUCCEEDED:
            return
        run = _run_of(snapshot)
        if run is not None:
            self._add(self._key(snapshot.model, snapshot.version), run)

    def _add(self, key: str, run: tuple[float, float]) -> None:
        runs = self._runs.pop(key, None) or deque(maxlen=self.RUNS)
        runs.append(run)
        self._runs[key] = runs
        while len(self._runs) > self.MODELS:
            self._runs.popitem(last=False)

    def expected(self, model: str | None, version: str | None) -> Expected | None:
        """When a new prediction of this model should end; ``None`` before any run is known."""
        runs = self._runs.get(self._key(model, version))
        if not runs:
            return None
        totals = sorted(queued + running for queued, running in runs)
        if len(totals) == 1:
            low = high = totals[0]
        else:
            deciles = statistics.quantiles(totals, n=10, method="inclusive")
            low, high = deciles[0], deciles[-1]
        # Slack for the round trip and the server's own rhythm; the deciles hold the rest.
        slack = 0.05 + 0.02 * high
        dense = min(0.25, max(0.05, (high - low) / 8))
        return Expected(early=max(0.0, low - slack), late=high + slack, dense=dense)

    def export(self) -> dict[str, list[list[float]]]:
        """What was learned, as JSON-ready data: ``{"model:version": [[queued, running], ...]}``."""
        return {key: [list(run) for run in runs] for key, runs in self._runs.items()}

    def seed(self, data: Mapping[str, Sequence[Sequence[float]]]) -> None:
        """Add runs that `export` gave, from this process or another.

        Raises:
            ValueError: `data` is not in the shape `export` gives.
        """
        for key, runs in data.items():
            for run in runs:
                queued, running = (_sane(v) for v in run) if len(run) == 2 else (None, None)
                if queued is None or running is None:
                    raise ValueError(
                        f"{key}: a run is [queued seconds, running seconds], not {run}"
                    )
                self._add(key, (queued, running))
