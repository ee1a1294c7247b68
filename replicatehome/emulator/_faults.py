"""Faults on demand: what can go wrong, and the seeded dice that decide when it does.

Faults are set through the Python API only, never by magic words in prompts, so a test says
exactly what it wants and a prompt is never special.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = ["ROUTES", "FaultInjector", "Faults", "PredictionFate", "RequestFault", "RouteName"]

RouteName = Literal[
    "create", "poll", "cancel", "stream", "model", "file", "list", "uploads", "account"
]
"""The emulator's routes, as named in `Faults.routes` and in the request counters.

One name covers a route of both protocols where they have one: ``"create"`` is
``POST /api/prediction`` and the three ``/v1`` create routes (by version, model and
deployment); ``"poll"`` is ``GET /api/poll`` and ``GET /v1/predictions/{id}``; ``"file"`` serves
both protocols' images. The others are ``/v1`` only: ``"cancel"``, ``"stream"``, ``"list"``
(``GET /v1/predictions``), ``"model"`` (the model, version and deployment routes),
``"uploads"`` (the ``/v1/files`` API) and ``"account"`` (``GET /v1/webhooks/default/secret``).
"""

ROUTES: Final[frozenset[str]] = frozenset(get_args(RouteName))
"""Every valid `RouteName`."""

# Real failure texts seen from Replicate models, so error handling is tested on realistic strings.
FAILURE_MESSAGES: Final[tuple[str, ...]] = (
    "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 39.59 GiB total capacity; "
    "36.12 GiB already allocated; 1.06 GiB free; 37.10 GiB reserved in total by PyTorch)",
    "Prediction interrupted; please retry (code: PA)",
    "CUDA error: an illegal memory access was encountered",
)


@dataclass(frozen=True, slots=True)
class Faults:
    """Which faults the emulator injects, and how often. The default injects none.

    Request-level faults (`rate_limit_rate`, `server_error_rate`, `drop_rate`) and the request
    tweaks (`slow_seconds`, `text_plain`) apply only to the routes named in `routes`. A faulted
    request has no side effect: no prediction is created. Prediction-level faults
    (`failure_rate`, `never_finish`) are fixed when a prediction is created.

    Attributes:
        failure_rate: Fraction of new predictions that end ``failed`` with a realistic error.
        rate_limit_rate: Fraction of requests answered 429 with ``Retry-After`` (on ``/v1``, with
            a problem+json body).
        retry_after: Seconds sent in ``Retry-After`` (whole numbers are sent as integers).
        server_error_rate: Fraction of requests answered 502, 503 or 504 with an HTML page.
        slow_seconds: Latency added to every request, without blocking the server.
        text_plain: Send JSON bodies with ``Content-Type: text/plain``.
        never_finish: New predictions stay ``processing`` forever, one token short of done.
        drop_rate: Fraction of requests whose connection closes mid-response (mid-stream, for
            the ``/v1`` event stream).
        max_faults: Request-level faults to inject before behaving again (``None``: no limit).
        routes: Routes that request-level faults apply to (see `RouteName`): ``"create"``,
            ``"poll"``, ``"cancel"``, ``"stream"``, ``"model"``, ``"file"``, ``"list"``,
            ``"uploads"``, ``"account"``.
        seed: Seed of every random choice, so runs are reproducible.
    """

    failure_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    server_error_rate: float = 0.0
    slow_seconds: float = 0.0
    text_plain: bool = False
    never_finish: bool = False
    drop_rate: float = 0.0
    max_faults: int | None = None
    routes: frozenset[str] = frozenset({"create", "poll"})
    seed: int = 0

    def __post_init__(self) -> None:
        rates = {
            "failure_rate": self.failure_rate,
            "rate_limit_rate": self.rate_limit_rate,
            "server_error_rate": self.server_error_rate,
            "drop_rate": self.drop_rate,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        # One die decides every request-level fault, so their rates share the unit interval.
        if self.rate_limit_rate + self.server_error_rate + self.drop_rate > 1.0:
            raise ValueError("rate_limit_rate + server_error_rate + drop_rate must not exceed 1")
        if self.retry_after < 0 or self.slow_seconds < 0:
            raise ValueError("retry_after and slow_seconds must not be negative")
        if self.max_faults is not None and self.max_faults < 0:
            raise ValueError("max_faults must be None or not negative")
        unknown = self.routes - ROUTES
        if unknown:
            raise ValueError(f"unknown routes {sorted(unknown)}; known: {sorted(ROUTES)}")


@dataclass(frozen=True, slots=True)
class RequestFault:
    """A fault decided for one request: its kind and the HTTP status it starts with."""

    kind: Literal["rate_limit", "server_error", "drop"]
    status: int


@dataclass(frozen=True, slots=True)
class PredictionFate:
    """How a new prediction will end: with `error` (``None``: success), or never."""

    error: str | None
    never_finish: bool


class FaultInjector:
    """Rolls the dice for `Faults`, thread-safely, and keeps the `max_faults` budget.

    Requests and predictions draw from separate seeded streams: how often a client polls
    (which depends on timing) must not change which predictions fail.
    """

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._install(faults)

    def _install(self, faults: Faults) -> None:
        self._faults = faults
        self._requests = random.Random(f"{faults.seed}:requests")
        self._predictions = random.Random(f"{faults.seed}:predictions")
        self._injected = 0

    @property
    def faults(self) -> Faults:
        """The faults in force. Setting new ones reseeds the dice and refills the budget."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        with self._lock:
            self._install(faults)

    def for_request(self, route: str) -> tuple[Faults, RequestFault | None]:
        """Return the faults in force for one request on `route`, and the fault it gets, if any."""
        with self._lock:
            faults = self._faults
            if route not in faults.routes:
                return faults, None
            if faults.max_faults is not None and self._injected >= faults.max_faults:
                return faults, None
            roll = self._requests.random()
            fault: RequestFault | None = None
            if roll < faults.rate_limit_rate:
                fault = RequestFault("rate_limit", 429)
            elif roll < faults.rate_limit_rate + faults.server_error_rate:
                fault = RequestFault("server_error", self._requests.choice((502, 503, 504)))
            elif roll < faults.rate_limit_rate + faults.server_error_rate + faults.drop_rate:
                fault = RequestFault("drop", 200)
            if fault is not None:
                self._injected += 1
            return faults, fault

    def for_prediction(self) -> PredictionFate:
        """Decide the fate of a prediction being created."""
        with self._lock:
            faults = self._faults
            if faults.never_finish:
                return PredictionFate(None, never_finish=True)
            if faults.failure_rate and self._predictions.random() < faults.failure_rate:
                return PredictionFate(self._predictions.choice(FAILURE_MESSAGES), False)
            return PredictionFate(None, never_finish=False)
