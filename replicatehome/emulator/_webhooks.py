"""Webhook deliveries: the prediction object POSTed to the creator's URL, signed like Replicate's.

A create with ``webhook`` (and optionally ``webhook_events_filter``, of ``start``, ``output``,
``logs`` and ``completed``; all four by default) gets a follower: a task that walks the
prediction's state machine in real time, like an event stream, and delivers

- ``start`` once the prediction is processing;
- ``output`` and ``logs`` when they grew, coalesced to one delivery per `THROTTLE` seconds, as
  Replicate throttles them;
- ``completed`` once, when it has ended.

Each delivery is signed with the emulator's ``whsec_`` secret (headers ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature``) and retried after the configured delays when the
connection fails or the answer is not 2xx. Deliveries never block a request: followers run as
tasks of the server's event loop, at most `MAX_FOLLOWERS` at once, each request bounded by
`DELIVERY_TIMEOUT`, and they all stop when the server does (`WebhookDispatcher.aclose`) or
drains. Only ``http`` and ``https`` URLs are accepted; redirects are not followed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, get_args

import httpx

from .._signing import signature, signing_key
from .._transport import tls_settings
from ._app import EmulatorStats
from ._follow import pause
from ._state import RUNNING, Clock, PredictionStore, Record, advance, log_lines, next_change

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "DELIVERY_TIMEOUT",
    "MAX_FOLLOWERS",
    "THROTTLE",
    "WebhookDispatcher",
    "WebhookError",
    "WebhookEvent",
    "WebhookTarget",
    "parse_webhook",
    "sign",
]

WebhookEvent = Literal["start", "output", "logs", "completed"]
"""The events a webhook can ask for."""

EVENTS: Final[frozenset[str]] = frozenset(get_args(WebhookEvent))

THROTTLE: Final = 0.5
"""Seconds between two ``output`` or ``logs`` deliveries of one prediction, at least."""

DELIVERY_TIMEOUT: Final = 5.0
"""Seconds one delivery attempt may take, connecting included."""

MAX_FOLLOWERS: Final = 1000
"""Predictions whose webhooks are followed at once; past that, new ones get no deliveries."""

MAX_URL_LENGTH: Final = 2048


logger = logging.getLogger(__name__)

Render = Callable[[Record, float], "dict[str, JsonValue]"]
"""Renders a prediction as the ``/v1`` API shows it at a clock reading."""


class WebhookError(ValueError):
    """A ``webhook`` or ``webhook_events_filter`` field the emulator refuses."""

    def __init__(self, field: str, problem: str) -> None:
        """Describe the problem with `field`."""
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Where to deliver, and which events."""

    url: str
    events: frozenset[str]


def parse_webhook(body: Mapping[str, JsonValue]) -> WebhookTarget | None:
    """The webhook a create body asks for, or ``None`` if it asks for none.

    Raises:
        WebhookError: ``webhook`` is not an absolute ``http(s)`` URL of at most
            `MAX_URL_LENGTH` characters, or ``webhook_events_filter`` is not a list of events.
    """
    url = body.get("webhook")
    events = body.get("webhook_events_filter")
    if url is None:
        return None
    if not isinstance(url, str) or not _deliverable(url):
        raise WebhookError("webhook", "must be an http or https URL")
    if events is None:
        return WebhookTarget(url, EVENTS)
    if not isinstance(events, list) or not all(e in EVENTS for e in events):
        raise WebhookError(
            "webhook_events_filter", f"must be a list of {', '.join(sorted(EVENTS))}"
        )
    return WebhookTarget(url, frozenset(str(e) for e in events))


def _deliverable(url: str) -> bool:
    if len(url) > MAX_URL_LENGTH:
        return False
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of a delivery: ``v1,`` and a base64 HMAC-SHA256.

    Signed as the SDK's `replicatehome.webhooks.verify` checks it: one scheme, one module.
    """
    digest = signature(signing_key(secret), message_id, str(timestamp), body)
    return "v1," + base64.b64encode(digest).decode()


class WebhookDispatcher:
    """Follows predictions that have a webhook, and delivers their events."""

    def __init__(
        self,
        store: PredictionStore,
        stats: EmulatorStats,
        *,
        secret: str,
        retry_delays: tuple[float, ...],
        draining: Callable[[], bool],
    ) -> None:
        """Deliver for `store`'s predictions, signed with `secret`, until `draining` says stop."""
        self._store = store
        self._stats = stats
        self._secret = secret
        self._retry_delays = retry_delays
        self._draining = draining
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def clock(self) -> Clock:
        """The store's clock."""
        return self._store.clock

    def watch(self, record: Record, target: WebhookTarget, render: Render) -> None:
        """Follow `record` and deliver its events to `target`, in the running event loop.

        Past `MAX_FOLLOWERS` the prediction gets no deliveries, counted as ``dropped``.
        """
        if len(self._tasks) >= MAX_FOLLOWERS:
            self._stats.count_webhook("dropped")
            logger.warning("webhook of %s dropped: %d followers already", record.id, MAX_FOLLOWERS)
            return
        task = asyncio.get_running_loop().create_task(self._follow(record.id, target, render))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Stop every follower, and wait until they have stopped."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, prediction_id: str, target: WebhookTarget, render: Render) -> None:
        store = self._store
        started = False
        shown = (0, 0)  # output items and log lines already delivered or coalesced away
        last_progress = -THROTTLE
        # The SDK's TLS settings, built once: a context per follower cost ~50 ms of CPU each.
        async with httpx.AsyncClient(
            timeout=DELIVERY_TIMEOUT, follow_redirects=False, trust_env=False, verify=tls_settings()
        ) as client:
            deliveries = 0

            async def deliver(record: Record, now: float) -> None:
                nonlocal deliveries
                deliveries += 1
                body = json.dumps(render(record, now)).encode()
                await self._deliver(client, target.url, f"msg_{record.id}_{deliveries}", body)

            while not self._draining():
                record = store.get(prediction_id)
                if record is None:
                    return
                now = store.clock()
                snap = advance(record, now)
                if snap.started is not None and not started:
                    started = True
                    if "start" in target.events:
                        # As it was when it started, even if it has moved on since.
                        await deliver(record, snap.started)
                if snap.status not in RUNNING:
                    if "completed" in target.events:
                        await deliver(record, now)
                    return
                grown = (len(snap.output or ()), len(log_lines(snap)))
                wanted = ("output" in target.events and grown[0] > shown[0]) or (
                    "logs" in target.events and grown[1] > shown[1]
                )
                throttled = time.monotonic() - last_progress < THROTTLE
                if wanted and not throttled:
                    await deliver(record, now)
                    last_progress = time.monotonic()
                if not wanted or not throttled:
                    shown = grown
                due = next_change(record, now)
                await asyncio.sleep(pause(None if due is None else due - now))

    async def _deliver(
        self, client: httpx.AsyncClient, url: str, message_id: str, body: bytes
    ) -> None:
        """POST one event, retrying after each of the configured delays while it fails."""
        for delay in (0.0, *self._retry_delays):
            if delay:
                self._stats.count_webhook("retried")
                await asyncio.sleep(delay)
            if self._draining():
                return
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(self._secret, message_id, timestamp, body),
            }
            try:
                # Streamed and never read: a receiver's answer body is not ours to buffer.
                async with client.stream("POST", url, content=body, headers=headers) as answer:
                    if answer.is_success:
                        self._stats.count_webhook("delivered")
                        return
            except httpx.HTTPError:
                pass
        self._stats.count_webhook("failed")
        logger.warning(
            "webhook %s to %s failed after %d retries", message_id, url, len(self._retry_delays)
        )
