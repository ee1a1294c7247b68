"""The emulator's ASGI application, which holds the live state both protocols share.

One path leads from a request to the state: the app hands it to its Starlette router
(``_routes.py``: every route, behind the guard of its name), whose endpoint (``_homepage.py``,
``_official.py``, ``_resources.py``, ``_files.py``) parses it and
reads or changes the app's state: the models, the predictions (``_state.py``), the uploaded
files, the fault dice (``_faults.py``) and the counters (`EmulatorStats`). Endpoints only parse
requests and pick status codes; what a prediction is and does is decided here and in
``_state.py``, so the homepage protocol and the official ``/v1`` API behave the same.

Starlette and the rest of the server stack are imported when an app is made, not with this
module, so that importing ``replicatehome.emulator`` stays cheap.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..catalog import ModelSpec
from ._config import EmulatorConfig
from ._faults import FaultInjector, Faults
from ._state import Clock, Plan, PredictionStore, Record, Source, emulated_tokens
from ._uploads import UploadStore

if TYPE_CHECKING:
    from pydantic import JsonValue
    from starlette.types import Receive, Scope, Send

    from ._inputs import ParsedInput

__all__ = [
    "EmulatorApp",
    "EmulatorStats",
    "create_prediction",
    "poll_prediction",
    "version_of",
]


class EmulatorApp:
    """The emulator as an ASGI application, with its live state: faults, counters, predictions.

    Serve it with any ASGI server, or call it through ``httpx.ASGITransport`` in tests. Routes:

    - the homepage protocol, anonymous: ``POST /api/prediction`` and ``GET /api/poll?id=...``;
    - the official API, with a bearer token: ``POST /v1/models/{owner}/{name}/predictions``,
      ``POST /v1/predictions``, ``POST /v1/deployments/{owner}/{name}/predictions``,
      ``GET /v1/predictions`` (the list), ``GET /v1/predictions/{id}``, ``POST .../cancel``,
      ``GET .../stream`` (server-sent events), ``GET /v1/models/{owner}/{name}``,
      ``GET .../versions`` and ``.../versions/{id}``, ``GET /v1/deployments/{owner}/{name}``,
      the ``/v1/files`` API and ``GET /v1/webhooks/default/secret``;
    - ``GET /files/{id}/out-{n}.{format}``: the images of a succeeded image prediction.

    Webhook deliveries run as tasks of the event loop that serves the app. The app's lifespan
    stops them at shutdown; an app served without lifespan events (``httpx.ASGITransport``)
    is stopped with `aclose`. Thread-safe: every part of its state is.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock = time.monotonic,
        wall_epoch: float | None = None,
    ) -> None:
        """Create the application.

        Args:
            config: How the emulator behaves (default: `EmulatorConfig()`).
            clock: The monotonic clock that drives predictions; tests pass a fake one to step
                through the states without sleeping.
            wall_epoch: The Unix time of the clock's current reading, for timestamps
                (default: now).
        """
        # The server stack: imported by the first app made, not by the package.
        from ._routes import router
        from ._webhooks import WebhookDispatcher

        self.config = config or EmulatorConfig()
        """How the emulator behaves."""
        self.stats = EmulatorStats()
        """What the emulator received and did."""
        # The rest is the state the routes share, not API.
        self.store = PredictionStore(
            clock=clock,
            wall_epoch=wall_epoch,
            ttl=self.config.prediction_ttl,
            max_predictions=self.config.max_predictions,
            on_drop=self.stats.forget,
        )
        self.uploads = UploadStore(clock=clock)
        self.injector = FaultInjector(self.config.faults)
        self.models = {spec.name: spec for spec in self.config.models}
        self.versions = {version_of(spec): spec for spec in self.config.models}
        deployed = self.config.deployments
        self.deployments = (
            dict(self.models)
            if deployed is None
            else {name: self.models[model] for name, model in deployed.items()}
        )
        self._draining = threading.Event()
        self.webhooks = WebhookDispatcher(
            self.store,
            self.stats,
            secret=self.config.webhook_secret,
            retry_delays=self.config.webhook_retry_delays,
            draining=self._draining.is_set,
        )
        self._router = router(self)

    @property
    def faults(self) -> Faults:
        """The faults in force. Assign new `Faults` at any time, from any thread."""
        return self.injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self.injector.faults = faults

    @property
    def draining(self) -> bool:
        """Whether long requests should end now: event streams and ``Prefer: wait`` holds.

        `Emulator` sets it while stopping, so the server does not wait on them; set it yourself
        when serving the app with another server. Thread-safe.
        """
        return self._draining.is_set()

    @draining.setter
    def draining(self, value: bool) -> None:
        if value:
            self._draining.set()
        else:
            self._draining.clear()

    def reset(self) -> None:
        """Start afresh, from any thread: forget every prediction and uploaded file, zero the
        counters and put back the faults of the configuration.

        Prediction and file ids are not reused, so a client still holding an old id gets a 404.
        Webhook deliveries already under way stop at their next look at their prediction.
        """
        self.store.clear()
        self.uploads.clear()
        self.stats.reset()
        self.injector.faults = self.config.faults

    async def aclose(self) -> None:
        """Stop delivering webhooks, and wait until every delivery task has stopped.

        Call it from the event loop that served the app. The app still serves requests after.
        """
        await self.webhooks.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        await self._router(scope, receive, send)


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


# Functions of the app rather than methods: they serve its routes, and are no public API.


def version_of(spec: ModelSpec) -> str:
    """The model's version id; one is made up from the name for a model configured without."""
    return spec.version or hashlib.sha256(f"version:{spec.name}".encode()).hexdigest()


def poll_prediction(app: EmulatorApp, prediction_id: str) -> Record | None:
    """The prediction with this id, counted as polled; ``None`` for an unknown one.

    Only known ids are counted: a client polling made-up ids cannot grow the counters.
    """
    record = app.store.get(prediction_id)
    if record is not None:
        app.stats.count_poll(prediction_id)
    return record


def create_prediction(
    app: EmulatorApp,
    spec: ModelSpec,
    version: str,
    inputs: Mapping[str, JsonValue],
    parsed: ParsedInput,
    *,
    source: Source = "api",
    cancel_after: float | None = None,
    deployment: str | None = None,
) -> Record:
    """Create a prediction that starts now, with the fate the faults give it, and count it.

    `source`, `cancel_after` and `deployment` go to `PredictionStore.create`.
    """
    config = app.config
    fate = app.injector.for_prediction()
    plan = Plan(
        starting=config.starting,
        duration=config.duration if parsed.duration is None else parsed.duration,
        tokens=()
        if parsed.images
        else emulated_tokens(spec.name, parsed.prompt, max_new_tokens=parsed.max_new_tokens),
        images=parsed.images,
        picture=parsed.picture,
        error=fate.error,
        never_finish=fate.never_finish,
    )
    app.stats.count_prediction()
    return app.store.create(
        spec,
        version,
        inputs,
        parsed.prompt,
        plan,
        source=source,
        cancel_after=cancel_after,
        deployment=deployment,
    )
