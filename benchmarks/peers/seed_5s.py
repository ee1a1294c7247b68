"""Benchmark runner for the seed's way of waiting: the homepage protocol, polled every 5 s.

    python seed_5s.py FIGURE URL [options]      (FIGURE: mixed or repeated)

The seed (gpt4free's ``ReplicateHome`` provider) created a prediction, polled it at once, then
slept 5 s between polls, 30 times at most. This replays that schedule with plain httpx (from
the interpreter that runs this project's SDK), so the SDK's polling can be compared with where
it started. It has no create + get worth measuring, and no async API of its own.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

MODEL = "google-deepmind/gemma-2b-it"
VERSION = "dff94eaf770e1fc211e425a50b51baa8e4cac6c39ef074681f9e39d778773626"
"""The catalog's version of the model, which the homepage protocol requires."""
DELAY = 5.0
"""Seconds between polls."""
MAX_POLLS = 30
HEADERS = {"Origin": "https://replicate.com", "Referer": "https://replicate.com/"}


def main(argv: list[str]) -> None:
    """Measure the figure asked for, and print it as JSON."""
    import _common
    import httpx

    @contextmanager
    def fresh(options: _common.Options) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=options.url, headers=HEADERS, timeout=30) as client:
            yield client

    def run_one(client: httpx.Client, inputs: dict[str, object]) -> tuple[str, str, object, object]:
        created = client.post(
            "/api/prediction", json={"model": MODEL, "version": VERSION, "input": inputs}
        )
        created.raise_for_status()
        prediction_id = created.json()["id"]
        for _ in range(MAX_POLLS):
            answer = client.get("/api/poll", params={"id": prediction_id})
            answer.raise_for_status()
            body = answer.json()
            if body["status"] in ("succeeded", "failed", "canceled"):
                return prediction_id, body["status"], body["created_at"], body["completed_at"]
            time.sleep(DELAY)
        raise TimeoutError(f"{prediction_id} did not end within {MAX_POLLS} polls")

    _common.run(argv, fresh=fresh, run_one=run_one)


if __name__ == "__main__":
    main(sys.argv[1:])
