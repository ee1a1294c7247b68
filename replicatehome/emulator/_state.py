"""The prediction state machine, and the store that keeps predictions. No I/O.

A prediction's state is a pure function of the time elapsed since it was created:

    starting  for `Plan.starting` seconds, output null;
    processing for `Plan.duration` seconds, text output growing token by token;
    succeeded with the whole output, or failed halfway through processing when the plan says so.

A cancel is the only event that changes a prediction after it is created: it records the clock
reading, and from then on the prediction is ``canceled`` with the output it had at that moment. A
deadline (``Cancel-After``) is a cancel fixed in advance: still running then, it is ``canceled``.

Time comes from an injectable clock, so tests step through the states without sleeping. The
prediction object (docs/protocol.md §3) is rendered here too, shared by every protocol's
routes: each protocol passes its own `urls` and image URL builder.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Literal

from ..catalog import ModelSpec
from ._images import Picture

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "DEFAULT_PICTURE",
    "RUNNING",
    "Clock",
    "Plan",
    "PredictionStore",
    "Record",
    "Snapshot",
    "Source",
    "Status",
    "advance",
    "emulated_text",
    "emulated_tokens",
    "finish_time",
    "image_name",
    "log_lines",
    "next_change",
    "render",
]

Clock = Callable[[], float]
"""A monotonic clock in seconds, like `time.monotonic`."""

Status = Literal["starting", "processing", "succeeded", "failed", "canceled"]
"""The statuses the emulator produces."""

RUNNING: Final[frozenset[Status]] = frozenset({"starting", "processing"})
"""The statuses that are not terminal."""

Source = Literal["web", "api"]
"""How a prediction was created: ``web`` by the homepage protocol, ``api`` by ``/v1``."""

STARTING_LOG: Final = "Starting prediction"
"""The log line a prediction prints when it starts processing."""

DEFAULT_PICTURE: Final = Picture()
"""How images look when nothing says otherwise: 256 x 256 PNGs."""

MAX_PROMPT_WORDS: Final = 24
"""Longer prompts are cut short in the output, to keep the token count moderate."""


def emulated_tokens(
    model: str, prompt: str, *, max_new_tokens: int | None = None
) -> tuple[str, ...]:
    """The tokens a text model emits for `prompt`: words that keep their trailing whitespace.

    `max_new_tokens` cuts the text after that many tokens, as a model that runs out does.
    """
    words = prompt.split()
    if len(words) > MAX_PROMPT_WORDS:
        prompt = " ".join(words[:MAX_PROMPT_WORDS]) + " …"
    short_name = model.rpartition("/")[2]
    sentence = (
        f"This is emulated output from {short_name} for the prompt: {prompt}\n"
        "It was generated locally, token by token, without running any model."
    )
    return tuple(re.findall(r"\S+\s*", sentence))[:max_new_tokens]


def emulated_text(model: str, prompt: str, *, max_new_tokens: int | None = None) -> str:
    """The whole text a succeeded prediction of text `model` returns for `prompt`, cut after
    `max_new_tokens` tokens when the input gives that."""
    return "".join(emulated_tokens(model, prompt, max_new_tokens=max_new_tokens))


def image_name(index: int, picture: Picture = DEFAULT_PICTURE) -> str:
    """The file name of a prediction's `index`-th image, whose suffix is its format's."""
    return f"out-{index}.{picture.format}"


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a prediction will do, fixed when it is created.

    Attributes:
        starting: Seconds spent ``starting``.
        duration: Seconds spent ``processing``.
        tokens: The text output, token by token (empty for image models).
        images: How many images the prediction ends with (0 for text models).
        picture: How they look: their format, size and seed.
        error: The error it fails with halfway through processing, or ``None`` to succeed.
        never_finish: Stay ``processing`` forever, one token short of the whole output.
    """

    starting: float
    duration: float
    tokens: tuple[str, ...] = ()
    images: int = 0
    picture: Picture = DEFAULT_PICTURE
    error: str | None = None
    never_finish: bool = False


@dataclass(frozen=True, slots=True)
class Record:
    """One prediction: who asked for what, when, its plan, and when it was canceled, if it was.

    `canceled` and `deadline` are clock readings, or ``None``. `seq` numbers the predictions of a
    store in creation order, for cursors. A record never changes: canceling stores a new one.
    """

    id: str
    model: ModelSpec
    version: str
    input: Mapping[str, JsonValue]
    prompt: str
    created: float
    plan: Plan
    canceled: float | None = None
    seq: int = 0
    source: Source = "api"
    deadline: float | None = None
    deployment: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A prediction's state at one instant. Times are clock readings.

    `output` holds text tokens, or image file names (see `image_name`), or ``None``.
    """

    status: Status
    output: tuple[str, ...] | None
    error: str | None
    started: float | None
    completed: float | None


def advance(record: Record, now: float) -> Snapshot:
    """Compute `record`'s state at clock reading `now`."""
    cancel = _cancel_time(record)
    if cancel is not None and now >= cancel:
        at_cancel = _planned(record, cancel)
        if at_cancel.status in RUNNING:
            return Snapshot("canceled", at_cancel.output, None, at_cancel.started, cancel)
        return at_cancel  # it had finished already: the cancel changed nothing
    return _planned(record, now)


def _cancel_time(record: Record) -> float | None:
    """When `record` is canceled, by a request or by its deadline, whichever comes first."""
    times = [t for t in (record.canceled, record.deadline) if t is not None]
    return min(times) if times else None


def log_lines(snap: Snapshot) -> tuple[str, ...]:
    """The lines a prediction has logged by `snap`: polls and event streams show the same ones."""
    if snap.started is None:
        return ()
    return (STARTING_LOG,) if snap.error is None else (STARTING_LOG, snap.error)


def _planned(record: Record, now: float) -> Snapshot:
    """`record`'s state at `now` as its plan has it, cancel aside."""
    plan = record.plan
    started = record.created + plan.starting
    if now < started:
        return Snapshot("starting", None, None, None, None)
    end = started + plan.duration
    failed_at = started + plan.duration / 2
    if plan.error is not None and now >= failed_at:
        return Snapshot(
            "failed", _tokens(plan, failed_at - started), plan.error, started, failed_at
        )
    if now >= end and not plan.never_finish:
        if plan.images:
            done = tuple(image_name(i, plan.picture) for i in range(plan.images))
        else:
            done = plan.tokens
        return Snapshot("succeeded", done, None, started, end)
    return Snapshot("processing", _tokens(plan, now - started), None, started, None)


def finish_time(record: Record) -> float | None:
    """The clock reading at which `record` ends (succeeds, fails or was canceled), or ``None``.

    ``None`` means never, for a `Plan.never_finish` prediction that nobody cancels.
    """
    return advance(record, math.inf).completed


def next_change(record: Record, now: float) -> float | None:
    """The next clock reading after `now` at which `record`'s state may change, or ``None``.

    ``None`` when nothing more will happen: the prediction has ended, or it never finishes and
    has all the output it will ever have. A cancel can still come at any time. The reading can
    fall a hair short of the change when floating point rounds against it: check again then.
    """
    snap = advance(record, now)
    if snap.status not in RUNNING:
        return None
    plan = record.plan
    started = record.created + plan.starting
    if now < started:
        return started
    candidates: list[float] = []
    if plan.error is not None:
        candidates.append(started + plan.duration / 2)
    elif not plan.never_finish:
        candidates.append(started + plan.duration)
    shown, total = len(snap.output or ()), len(plan.tokens)
    if shown + 1 < total:  # the last token comes only with success, at the end
        candidates.append(started + (shown + 1) * plan.duration / total)
    return min(candidates) if candidates else None


def _tokens(plan: Plan, elapsed: float) -> tuple[str, ...] | None:
    """The text output after `elapsed` seconds of processing: ``None`` until the first token."""
    progress = 1.0 if plan.duration == 0 else min(1.0, elapsed / plan.duration)
    count = min(int(len(plan.tokens) * progress), len(plan.tokens) - 1)
    return plan.tokens[:count] if count > 0 else None


class PredictionStore:
    """Creates, numbers and keeps predictions, thread-safely, within a time and a count limit.

    Ids look like Replicate's (26 lowercase base-32 characters). They are derived from a counter,
    so they are unique within a store, never reused after an eviction, and the same from run to
    run.

    A prediction that has ended (succeeded, failed or canceled) is kept `ttl` seconds after it
    ended, then expires; one still running never expires. Past `max_predictions`, creating a
    prediction evicts the oldest. Either way it is gone: `get` and `cancel` answer ``None``, as
    for an id that never existed.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        wall_epoch: float | None = None,
        ttl: float = math.inf,
        max_predictions: int | None = None,
        on_drop: Callable[[str], None] | None = None,
    ) -> None:
        """Create an empty store.

        Args:
            clock: The monotonic clock that drives every prediction.
            wall_epoch: The Unix time matching the clock's current reading, for timestamps
                (default: now). Pass a fixed value for reproducible timestamps.
            ttl: Seconds an ended prediction is kept (default: for ever).
            max_predictions: How many predictions are kept at most (default: no limit).
            on_drop: Called with the id of each prediction that expires or is evicted, outside
                the store's lock.
        """
        if not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl}")
        if max_predictions is not None and max_predictions < 1:
            raise ValueError(f"max_predictions must be at least 1, got {max_predictions}")
        self.clock = clock
        self.ttl = ttl
        self.max_predictions = max_predictions
        self._on_drop = on_drop
        self._origin = clock()
        self._wall_epoch = time.time() if wall_epoch is None else wall_epoch
        self._lock = threading.Lock()
        self._created = 0
        # OrderedDicts, not dicts: taking the first key of a dict that had its first keys
        # deleted walks over their empty slots, which makes a queue of it quadratic.
        self._records: OrderedDict[str, Record] = OrderedDict()  # oldest first
        # The predictions that will end, in the order they are due to: creation order, and a
        # never-ending one when it is canceled. A failure or a cancel can end one before those
        # ahead of it, by at most `starting + duration`: it then waits that long to be pruned,
        # though `get` already answers None.
        self._ending: OrderedDict[str, None] = OrderedDict()

    def create(
        self,
        model: ModelSpec,
        version: str,
        input: Mapping[str, JsonValue],
        prompt: str,
        plan: Plan,
        *,
        source: Source = "api",
        cancel_after: float | None = None,
        deployment: str | None = None,
    ) -> Record:
        """Create and keep a new prediction that starts now. `prompt` is ``input["prompt"]``.

        `cancel_after` is seconds from now after which a prediction still running is canceled.
        Expired predictions are dropped first, then the oldest ones if the store is full: each
        prediction is dropped once, so this costs O(1), amortised.
        """
        with self._lock:
            now = self.clock()
            dropped = self._prune(now)
            seq = self._created
            digest = hashlib.sha256(f"prediction:{seq}".encode()).digest()
            self._created += 1
            prediction_id = base64.b32encode(digest).decode()[:26].lower()
            deadline = None if cancel_after is None else now + cancel_after
            record = Record(
                prediction_id,
                model,
                version,
                input,
                prompt,
                now,
                plan,
                seq=seq,
                source=source,
                deadline=deadline,
                deployment=deployment,
            )
            self._records[prediction_id] = record
            # One that would never end does end at its deadline. It may then hold up the pruning
            # of those behind it in the queue until it expires: `get` still drops them on sight.
            if not plan.never_finish or deadline is not None:
                self._ending[prediction_id] = None
        self._report(dropped)
        return record

    def get(self, prediction_id: str) -> Record | None:
        """Return the prediction with this id, or ``None`` if there is none, or no longer."""
        with self._lock:
            record, dropped = self._live(prediction_id, self.clock())
        self._report(dropped)
        return record

    def cancel(self, prediction_id: str) -> Record | None:
        """Cancel a prediction now and return it, or ``None`` for an unknown id.

        A prediction that has ended already, or was canceled before, is returned unchanged.
        """
        with self._lock:
            now = self.clock()
            record, dropped = self._live(prediction_id, now)
            if record is not None and advance(record, now).status in RUNNING:
                record = replace(record, canceled=now)
                self._records[prediction_id] = record  # an existing key keeps its place
                # It ends now; one that was never to end joins the queue, at its back.
                self._ending[prediction_id] = None
        self._report(dropped)
        return record

    def clear(self) -> None:
        """Forget every prediction, as if each had expired.

        Ids go on from the counter: a follower of a forgotten prediction (a webhook delivery)
        must not find a new one under its id.
        """
        with self._lock:
            dropped = list(self._records)
            self._records.clear()
            self._ending.clear()
        self._report(dropped)

    def newest_first(self) -> list[Record]:
        """Every live prediction, the newest first: a copy, for listing."""
        with self._lock:
            now = self.clock()
            return [r for r in reversed(self._records.values()) if not self._expired(r, now)]

    @property
    def count(self) -> int:
        """How many predictions the store holds now, expired ones not yet dropped included."""
        with self._lock:
            return len(self._records)

    def _expired(self, record: Record, now: float) -> bool:
        end = finish_time(record)
        return end is not None and now >= end + self.ttl

    def _live(self, prediction_id: str, now: float) -> tuple[Record | None, list[str]]:
        """The record, unless it has expired: then it is dropped at once. Under the lock."""
        record = self._records.get(prediction_id)
        if record is None or not self._expired(record, now):
            return record, []
        self._drop(prediction_id)
        return None, [prediction_id]

    def _prune(self, now: float) -> list[str]:
        """Make room for one more: drop the expired at the front, then the oldest past the cap.

        Returns the ids dropped. Called under the lock.
        """
        dropped: list[str] = []
        while self._ending:
            first = next(iter(self._ending))
            if not self._expired(self._records[first], now):
                break
            self._drop(first)
            dropped.append(first)
        if self.max_predictions is not None:
            while len(self._records) >= self.max_predictions:
                oldest = next(iter(self._records))
                self._drop(oldest)
                dropped.append(oldest)
        return dropped

    def _drop(self, prediction_id: str) -> None:
        del self._records[prediction_id]
        self._ending.pop(prediction_id, None)

    def _report(self, dropped: list[str]) -> None:
        if self._on_drop is not None:
            for prediction_id in dropped:
                self._on_drop(prediction_id)

    def wall(self, reading: float) -> float:
        """The Unix time of a clock reading."""
        return self._wall_epoch + reading - self._origin

    def timestamp(self, reading: float) -> str:
        """Format a clock reading as Replicate does: ``2026-01-01T00:00:00.000000Z``."""
        moment = datetime.fromtimestamp(self.wall(reading), tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def render(
    store: PredictionStore,
    record: Record,
    *,
    urls: Mapping[str, str],
    file_url: Callable[[str, str], str],
    now: float | None = None,
) -> dict[str, JsonValue]:
    """The prediction object (docs/protocol.md §3) as it stands now, ready to send as JSON.

    Args:
        store: The store `record` belongs to, for its clock and timestamps.
        record: The prediction.
        urls: The ``urls`` object; each protocol links to its own routes.
        file_url: Builds an image's absolute URL from a prediction id and file name.
        now: The clock reading to render it at (default: the store's clock now).
    """
    snap = advance(record, store.clock() if now is None else now)
    output: JsonValue = None
    if snap.output is not None:
        if record.plan.images:
            output = [file_url(record.id, name) for name in snap.output]
        else:
            output = list(snap.output)
    metrics: dict[str, JsonValue] = {}
    if snap.started is not None and snap.completed is not None:
        metrics = {
            "predict_time": round(snap.completed - snap.started, 6),
            "total_time": round(snap.completed - record.created, 6),
        }
    return {
        "id": record.id,
        "model": record.model.name,
        "version": record.version,
        "input": dict(record.input),
        "logs": "".join(f"{line}\n" for line in log_lines(snap)),
        "output": output,
        "error": snap.error,
        "status": snap.status,
        "created_at": store.timestamp(record.created),
        "started_at": None if snap.started is None else store.timestamp(snap.started),
        "completed_at": None if snap.completed is None else store.timestamp(snap.completed),
        "urls": dict(urls),
        "metrics": metrics,
        "data_removed": False,
    }
