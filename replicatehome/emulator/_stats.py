"""Request counters, so tests can check what a client actually sent."""

from __future__ import annotations

import threading
from collections import Counter

__all__ = ["EmulatorStats"]


class EmulatorStats:
    """Thread-safe counters of what the emulator received and did.

    Every request is counted, faulted or not. The properties return copies, so they can be read
    from any thread while the server runs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._polls: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._webhooks: Counter[str] = Counter()
        self._predictions = 0

    @property
    def requests(self) -> dict[str, int]:
        """Requests per route name (``"create"``, ``"poll"``, ``"file"``)."""
        with self._lock:
            return dict(self._requests)

    @property
    def polls(self) -> dict[str, int]:
        """Polls per prediction id, of the predictions the emulator keeps.

        Polls of unknown, expired or evicted ids are not counted, so that the counters stay as
        bounded as the predictions; neither are polls answered with a fault.
        """
        with self._lock:
            return dict(self._polls)

    @property
    def faults(self) -> int:
        """Request-level faults injected (429s, 5xxs and dropped connections)."""
        with self._lock:
            return self._faults.total()

    @property
    def faults_by_kind(self) -> dict[str, int]:
        """Injected request-level faults per kind: ``rate_limit``, ``server_error``, ``drop``."""
        with self._lock:
            return dict(self._faults)

    @property
    def webhooks(self) -> dict[str, int]:
        """Webhook deliveries per outcome: ``delivered``, ``retried`` (each retry), ``failed``
        (after the last retry) and ``dropped`` (never followed: too many at once)."""
        with self._lock:
            return dict(self._webhooks)

    @property
    def predictions(self) -> int:
        """Predictions created."""
        with self._lock:
            return self._predictions

    def count_request(self, route: str) -> None:
        """Count one request on `route`."""
        with self._lock:
            self._requests[route] += 1

    def count_poll(self, prediction_id: str) -> None:
        """Count one poll of `prediction_id`, which must be the id of a prediction kept."""
        with self._lock:
            self._polls[prediction_id] += 1

    def forget(self, prediction_id: str) -> None:
        """Drop the poll count of a prediction that expired or was evicted."""
        with self._lock:
            self._polls.pop(prediction_id, None)

    def count_fault(self, kind: str) -> None:
        """Count one injected request-level fault of `kind`."""
        with self._lock:
            self._faults[kind] += 1

    def count_webhook(self, outcome: str) -> None:
        """Count one webhook delivery `outcome`."""
        with self._lock:
            self._webhooks[outcome] += 1

    def count_prediction(self) -> None:
        """Count one created prediction."""
        with self._lock:
            self._predictions += 1

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._requests.clear()
            self._polls.clear()
            self._faults.clear()
            self._webhooks.clear()
            self._predictions = 0
