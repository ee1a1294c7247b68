"""The emulator's ASGI application: both protocols' routes and the image files, assembled.

Layers:

- `Backend` (``_backend.py``) holds the live state, and ``_state.py`` the predictions' state
  machine and the prediction object, shared by both protocols;
- ``_routes.py`` lists every route, each behind the counters and request-level faults of its
  name; the endpoints of ``_homepage.py``, ``_official.py``, ``_official_resources.py``,
  ``_files_api.py`` and ``_files.py`` only parse requests and pick status codes;
- ``_webhooks.py`` delivers webhooks from tasks of the server's event loop, stopped with the
  app's lifespan (or `EmulatorApp.aclose`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from ._backend import Backend
from ._config import EmulatorConfig
from ._faults import Faults
from ._routes import http_error, routes
from ._state import Clock
from ._stats import EmulatorStats

__all__ = ["EmulatorApp"]


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
    is stopped with `aclose`.
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
            clock: The monotonic clock that drives predictions; tests pass a fake one.
            wall_epoch: The Unix time of the clock's current reading, for timestamps
                (default: now).
        """
        self.config = config or EmulatorConfig()
        self._backend = Backend(self.config, clock=clock, wall_epoch=wall_epoch)
        self._app = Starlette(
            routes=routes(self._backend),
            exception_handlers={HTTPException: http_error},
            lifespan=self._lifespan,
        )

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.aclose()

    async def aclose(self) -> None:
        """Stop delivering webhooks, and wait until every delivery task has stopped.

        Call it from the event loop that served the app. The app still serves requests after.
        """
        await self._backend.webhooks.aclose()

    @property
    def stats(self) -> EmulatorStats:
        """What the emulator received and did."""
        return self._backend.stats

    @property
    def faults(self) -> Faults:
        """The faults in force. Assign new `Faults` at any time, from any thread."""
        return self._backend.injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._backend.injector.faults = faults

    def reset(self) -> None:
        """Start afresh, from any thread: forget every prediction and uploaded file, zero the
        counters and put back the faults of the configuration.

        Prediction and file ids are not reused, so a client still holding an old id gets a 404.
        Webhook deliveries already under way stop at their next look at their prediction.
        """
        self._backend.reset()

    @property
    def draining(self) -> bool:
        """Whether long requests should end now: event streams and ``Prefer: wait`` holds.

        `Emulator` sets it while stopping, so the server does not wait on them; set it yourself
        when serving the app with another server. Thread-safe.
        """
        return self._backend.draining

    @draining.setter
    def draining(self, value: bool) -> None:
        self._backend.draining = value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        await self._app(scope, receive, send)
