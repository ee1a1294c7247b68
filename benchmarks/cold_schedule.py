"""Can a polling schedule with no past runs beat a fixed 0.5 s one on lag and polls at once?

    uv run python benchmarks/cold_schedule.py

Replays `nox -s bench`'s first-sight figure without a server: a prediction is seen at the first
poll at or after its end, each poll adding a round trip. For the fixed 0.5 s schedule of
replicate-python and a grid of back-off schedules (first poll, growth, cap), it prints the median
lag and the polls in all for the figure's ten durations, and their means over 3000 draws of ten
durations spread evenly between 0.3 and 6.3 s. A schedule "wins" only if it is no worse on both.
"""

from __future__ import annotations

import bisect
import random
import statistics
from collections.abc import Callable, Sequence
from itertools import product

ROUND_TRIP = 0.008
"""Seconds each poll adds before the next can be sent, as measured on loopback."""
FIGURE = tuple(0.3 + 6 * k / 9 for k in range(10))
"""The ten durations of the benchmark's first-sight figure, in seconds."""
DRAWS = 3000
HORIZON = 8.0

Gap = Callable[[int], float]


def poll_times(first: float, gap: Gap) -> list[float]:
    """When the polls go out: `first`, then each `gap(n)` plus a round trip after the last."""
    times = [first]
    while times[-1] < HORIZON:
        times.append(times[-1] + gap(len(times)) + ROUND_TRIP)
    return times


def backoff(first: float, growth: float, cap: float) -> Gap:
    """Gaps that start at `first` and grow by `growth` each poll, up to `cap`."""
    return lambda n: min(cap, first * growth**n)


def seen(times: Sequence[float], durations: Sequence[float]) -> tuple[float, int]:
    """The median lag (s) and the polls in all for predictions that last `durations`."""
    lags, polls = [], 0
    for duration in durations:
        index = bisect.bisect_left(times, duration)
        lags.append(times[index] - duration)
        polls += index + 1
    return statistics.median(lags), polls


def expected(times: Sequence[float]) -> tuple[float, float]:
    """`seen` averaged over `DRAWS` draws of ten durations between 0.3 and 6.3 s."""
    rng = random.Random(1)
    results = [seen(times, [rng.uniform(0.3, 6.3) for _ in range(10)]) for _ in range(DRAWS)]
    return statistics.mean(r[0] for r in results), statistics.mean(r[1] for r in results)


def main() -> None:
    fixed = poll_times(0.5 + ROUND_TRIP, lambda n: 0.5)
    fixed_lag, fixed_polls = expected(fixed)
    figure_lag, figure_polls = seen(fixed, FIGURE)
    print("schedule                       figure: lag  polls   expected: lag  polls  beats fixed")
    print(
        f"fixed 0.5 s                    {figure_lag * 1000:8.0f} ms {figure_polls:5d}"
        f"   {fixed_lag * 1000:10.0f} ms {fixed_polls:6.1f}"
    )
    for first, growth, cap in product((0.1, 0.2, 0.3, 0.4), (1.5, 2.0), (0.4, 0.5, 0.6, 0.75, 1.0)):
        times = poll_times(first, backoff(first, growth, cap))
        lag, polls = seen(times, FIGURE)
        mean_lag, mean_polls = expected(times)
        beats = mean_lag <= fixed_lag and mean_polls <= fixed_polls
        print(
            f"{first:.1f} s x{growth:.1f} up to {cap:.2f} s       {lag * 1000:8.0f} ms {polls:5d}"
            f"   {mean_lag * 1000:10.0f} ms {mean_polls:6.1f}  {'yes' if beats else 'no'}"
        )


if __name__ == "__main__":
    main()
