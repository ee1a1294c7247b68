"""Live prediction handles: `Prediction` for `Client`, `AsyncPrediction` for `AsyncClient`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Self, TypeVar, cast

from pydantic import JsonValue

from ._lifecycle import Flow, Lifecycle, Tracked, outcome
from ._models import PredictionMetrics, PredictionSnapshot, PredictionStatus, PredictionUrls
from ._retry import Deadline
from .catalog import Kind
from .results import AsyncFetch, Fetch, ImageResult, OutputResult, TextResult, build_result

if TYPE_CHECKING:
    from ._async_driver import AsyncDriver
    from ._sync_driver import SyncDriver

__all__ = ["AsyncPrediction", "Prediction", "PredictionResult", "async_fetch", "sync_fetch"]

PredictionResult = TextResult | ImageResult | OutputResult
"""Any typed result: what a prediction known only by its id or model name produces."""

R_co = TypeVar("R_co", bound=PredictionResult, covariant=True)


def sync_fetch(driver: SyncDriver) -> Fetch:
    """How results made by `Client` download their files through `driver`."""

    def fetch(
        url: str,
        timeout: float | None,
        *,
        image: bool = False,
        on_type: Callable[[str | None], None] | None = None,
    ) -> Iterator[bytes]:
        lifecycle = driver.lifecycle
        flow = lifecycle.download(url, lifecycle.deadline(timeout), image=image, on_type=on_type)
        return driver.iterate(flow, bytes)

    return fetch


def async_fetch(driver: AsyncDriver) -> AsyncFetch:
    """How results made by `AsyncClient` download their files through `driver`."""

    def fetch(
        url: str,
        timeout: float | None,
        *,
        image: bool = False,
        on_type: Callable[[str | None], None] | None = None,
    ) -> AsyncIterator[bytes]:
        lifecycle = driver.lifecycle
        flow = lifecycle.download(url, lifecycle.deadline(timeout), image=image, on_type=on_type)
        return driver.iterate(flow, bytes)

    return fetch


class _PredictionHandle(Generic[R_co]):
    """What both handles share: the typed fields of the latest snapshot, and `.result`."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        snapshot: PredictionSnapshot,
        kind: Kind | None,
        *,
        created: bool,
        wait_timeout: float | None = None,
        fetch: Fetch | None = None,
        afetch: AsyncFetch | None = None,
    ) -> None:
        self._lifecycle = lifecycle
        self._wait_timeout = wait_timeout
        self._tracked = Tracked(snapshot, since=lifecycle.clock() if created else None)
        self._kind = kind
        self._fetch = fetch
        self._afetch = afetch
        self._result: R_co | None = None

    @property
    def snapshot(self) -> PredictionSnapshot:
        """The prediction as the server last described it (all fields, including unknown ones)."""
        return self._tracked.snapshot

    @property
    def id(self) -> str:
        """The prediction's id."""
        return self.snapshot.id

    @property
    def status(self) -> PredictionStatus:
        """The status last seen; updated by `refresh`, `wait` and `stream`."""
        return self.snapshot.status

    @property
    def model(self) -> str | None:
        """The model's ``owner/name``."""
        return self.snapshot.model

    @property
    def version(self) -> str | None:
        """The model version's hash."""
        return self.snapshot.version

    @property
    def input(self) -> dict[str, JsonValue] | None:
        """The input the prediction runs on."""
        return self.snapshot.input

    @property
    def output(self) -> JsonValue:
        """The raw output so far, as JSON."""
        return self.snapshot.output

    @property
    def error(self) -> str | None:
        """The server's error text when the prediction failed."""
        return self.snapshot.error

    @property
    def logs(self) -> str | None:
        """The model's logs so far."""
        return self.snapshot.logs

    @property
    def urls(self) -> PredictionUrls | None:
        """Links the server gave for this prediction."""
        return self.snapshot.urls

    @property
    def metrics(self) -> PredictionMetrics | None:
        """Timings the server reported."""
        return self.snapshot.metrics

    @property
    def created_at(self) -> datetime | None:
        """When the prediction was created."""
        return self.snapshot.created_at

    @property
    def started_at(self) -> datetime | None:
        """When the model started running."""
        return self.snapshot.started_at

    @property
    def completed_at(self) -> datetime | None:
        """When the prediction finished."""
        return self.snapshot.completed_at

    @property
    def data_removed(self) -> bool | None:
        """Whether the server has removed the input, output and logs (official API, ~1 h on)."""
        return self.snapshot.data_removed

    @property
    def result(self) -> R_co:
        """The typed result of a finished prediction.

        Raises:
            PredictionNotFinishedError: the prediction is still running; call ``.wait()``.
            PredictionFailedError: it failed; the message holds the server's error.
            PredictionCanceledError: it was canceled.
            PredictionDataRemovedError: it succeeded, but the server has removed its output.
        """
        if self._result is None:
            finished = outcome(self.snapshot)
            result = build_result(self._kind, finished, fetch=self._fetch, afetch=self._afetch)
            self._result = cast(R_co, result)
        return self._result

    def _deadline(self, timeout: float | None) -> Deadline:
        return self._lifecycle.deadline(self._wait_timeout if timeout is None else timeout)

    def _stream_flow(self, timeout: float | None) -> Flow[PredictionSnapshot]:
        # An image model's output is URLs, not text: streaming it just waits for the end.
        stream = self._kind != "image"
        deadline = self._deadline(timeout)
        return self._lifecycle.wait(self._tracked, deadline, stream=stream)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(id={self.id!r}, model={self.model!r}, "
            f"status={self.status.value!r})"
        )


class Prediction(_PredictionHandle[R_co]):
    """A prediction started or fetched by `Client`: a live handle on the server's state."""

    def __init__(
        self,
        driver: SyncDriver,
        snapshot: PredictionSnapshot,
        kind: Kind | None,
        *,
        created: bool,
        wait_timeout: float | None = None,
    ) -> None:
        super().__init__(
            driver.lifecycle,
            snapshot,
            kind,
            created=created,
            wait_timeout=wait_timeout,
            fetch=sync_fetch(driver),
        )
        self._driver = driver

    def refresh(self) -> Self:
        """Read the prediction's current state from the server."""
        flow = self._lifecycle.get(self.id, self._lifecycle.deadline())
        self._tracked.snapshot = self._driver.run(flow)
        return self

    def cancel(self) -> Self:
        """Ask the server to stop the prediction; returns with the state it answered.

        Raises:
            UnsupportedFeatureError: the homepage backend cannot cancel; no request is made.
        """
        flow = self._lifecycle.cancel(self.id, self._lifecycle.deadline())
        self._tracked.snapshot = self._driver.run(flow)
        return self

    def wait(
        self,
        timeout: float | None = None,
        *,
        on_update: Callable[[PredictionSnapshot], None] | None = None,
    ) -> R_co:
        """Poll until the prediction ends, then return its typed result (also kept in `result`).

        Args:
            timeout: seconds to wait at most; by default the ``wait_timeout`` given to
                ``create``, else the client's.
            on_update: called with each snapshot a poll returns, to show progress.

        Raises:
            PredictionTimeoutError: the prediction was still running at the deadline.
            PredictionFailedError, PredictionCanceledError: it ended without a result.
        """
        deadline = self._deadline(timeout)
        self._driver.run(self._lifecycle.wait(self._tracked, deadline, on_update=on_update))
        return self.result

    def stream(self, timeout: float | None = None) -> Iterator[str]:
        """Yield the output text as it grows, from the start, until the prediction ends.

        An image model's output is not text: for one, this yields nothing and just waits. Raises
        at the end as `wait` does if the prediction failed, was canceled, or timed out.
        """
        return self._driver.iterate(self._stream_flow(timeout), str)


class AsyncPrediction(_PredictionHandle[R_co]):
    """A prediction started or fetched by `AsyncClient`: a live handle on the server's state."""

    def __init__(
        self,
        driver: AsyncDriver,
        snapshot: PredictionSnapshot,
        kind: Kind | None,
        *,
        created: bool,
        wait_timeout: float | None = None,
    ) -> None:
        super().__init__(
            driver.lifecycle,
            snapshot,
            kind,
            created=created,
            wait_timeout=wait_timeout,
            afetch=async_fetch(driver),
        )
        self._driver = driver

    async def refresh(self) -> Self:
        """Read the prediction's current state from the server."""
        flow = self._lifecycle.get(self.id, self._lifecycle.deadline())
        self._tracked.snapshot = await self._driver.run(flow)
        return self

    async def cancel(self) -> Self:
        """Ask the server to stop the prediction; returns with the state it answered.

        Raises:
            UnsupportedFeatureError: the homepage backend cannot cancel; no request is made.
        """
        flow = self._lifecycle.cancel(self.id, self._lifecycle.deadline())
        self._tracked.snapshot = await self._driver.run(flow)
        return self

    async def wait(
        self,
        timeout: float | None = None,
        *,
        on_update: Callable[[PredictionSnapshot], None] | None = None,
    ) -> R_co:
        """Poll until the prediction ends, then return its typed result (also kept in `result`).

        Args:
            timeout: seconds to wait at most; by default the ``wait_timeout`` given to
                ``create``, else the client's.
            on_update: called with each snapshot a poll returns, to show progress.

        Raises:
            PredictionTimeoutError: the prediction was still running at the deadline.
            PredictionFailedError, PredictionCanceledError: it ended without a result.
        """
        deadline = self._deadline(timeout)
        await self._driver.run(self._lifecycle.wait(self._tracked, deadline, on_update=on_update))
        return self.result

    def stream(self, timeout: float | None = None) -> AsyncIterator[str]:
        """Yield the output text as it grows, from the start, until the prediction ends.

        An image model's output is not text: for one, this yields nothing and just waits. Raises
        at the end as `wait` does if the prediction failed, was canceled, or timed out.
        """
        return self._driver.iterate(self._stream_flow(timeout), str)
