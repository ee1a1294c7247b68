"""The prediction lifecycle, written once, as sans-I/O generators.

A flow is a generator that yields steps: `Send` a request, `Read` the next raw chunk of its
answer, `Close` it, `Sleep`, or `Emit` a chunk of text or bytes to the caller. The driver answers
each `Send` with the response (body unread) and each `Read` with bytes (``b""`` at the end), or
throws the transport error in at the `yield`. Flows build requests, follow redirects, decode and
cap bodies, and decide (through tenacity) when to retry and when to poll; `Client` and
`AsyncClient` only send, read and sleep (`_sync_driver.py`, `_async_driver.py`), and never past
the step's deadline.

    create (holding with Prefer: wait where the backend can)
      └─▶ follow the event stream, if there is one, else poll with back-off
            └─▶ terminal ─▶ snapshot, or the error that says how it ended
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import time
import urllib.parse
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final, Generic, TypeAlias, TypeVar, cast

import httpx
import tenacity

from ._body import BodyDecoder
from ._file_inputs import FileEncoding, InputFile, check_encoding, fill, read_files
from ._history import PollStats
from ._logs import logger, redact
from ._models import PredictionPage, PredictionSnapshot, PredictionStatus
from ._protocols import CreateOptions, StreamEnd, Target, WireProtocol
from ._protocols.sse import EventTooLargeError, SSEDecoder
from ._responses import decode_model, error_for_status
from ._retry import Deadline, RetryPolicy
from ._shorten import shorten
from ._untrusted import is_image, parse_url
from .catalog import ModelSpec
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    PredictionCanceledError,
    PredictionDataRemovedError,
    PredictionFailedError,
    PredictionNotFinishedError,
    PredictionTimeoutError,
    ResponseTooLargeError,
    ResponseValidationError,
    UnsupportedFeatureError,
)
from .results import text_in

__all__ = [
    "Close",
    "Emit",
    "Finished",
    "Flow",
    "Lifecycle",
    "Limits",
    "Read",
    "Send",
    "Sleep",
    "Step",
    "Tracked",
    "resume",
]

T = TypeVar("T")

MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_ERROR_BODY: Final = 64 * 1024
"""How much of an error answer is read, for its message: the status says enough."""
CANCEL_GRACE: Final = 0.4
"""How long a ``generate_*`` call that timed out spends canceling its prediction, in seconds:
within the half second past its deadline that docs/security.md promises."""
UPDATE_EVERY: Final = 0.1
"""The shortest gap, in seconds, between two ``on_update`` calls while an event stream runs."""
_IMAGE_HEAD: Final = 16
"""How many bytes of a download tell whether it is an image."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send this request and resume the flow with the response, its body unread.

    The flow reads the body with `Read` and ends with `Close`. The driver gives up at `deadline`.
    """

    request: httpx.Request
    deadline: Deadline


@dataclass(frozen=True, slots=True)
class Read:
    """Resume the flow with the next raw chunk of the open response (``b""`` at its end).

    The driver gives up at `deadline`.
    """

    deadline: Deadline


@dataclass(frozen=True, slots=True)
class Close:
    """Close the open response, then resume the flow."""


@dataclass(frozen=True, slots=True)
class Sleep:
    """Sleep this many seconds, then resume the flow."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand this chunk of text (a stream) or bytes (a download) to the caller, then resume."""

    chunk: str | bytes


@dataclass(frozen=True, slots=True)
class Finished(Generic[T]):
    """The flow returned `value`."""

    value: T


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of what a server sends the client holds at most.

    Attributes:
        response: bytes of one decoded answer, and of a prediction's streamed text.
        event: characters of one line, or of one event, of an event stream.
        download: bytes of one output file.
    """

    response: int
    event: int
    download: int


Step: TypeAlias = Send | Read | Close | Sleep | Emit
Reply: TypeAlias = httpx.Response | bytes | None
Flow: TypeAlias = Generator[Step, Reply, T]

_CLOSE = Close()


def resume(flow: Flow[T], outcome: Reply | httpx.HTTPError) -> Step | Finished[T]:
    """Advance `flow` with the outcome of its last step; report its next step or its value."""
    try:
        if isinstance(outcome, httpx.HTTPError):
            return flow.throw(outcome)
        return flow.send(outcome)
    except StopIteration as stop:
        return Finished(cast(T, stop.value))


class Tracked:
    """The latest snapshot of one prediction, kept current while a flow follows it.

    Text and log lines that arrive on an event stream are gathered and folded into the
    snapshot only when it is read, so following a long stream costs time in proportion to its
    length.
    """

    def __init__(self, snapshot: PredictionSnapshot, since: float | None = None) -> None:
        self._snapshot = snapshot
        self._chunks: list[str] = []
        self._logs: list[str] = []
        self.since = since
        """The clock reading when this client created the prediction; ``None`` if it did not."""

    @property
    def snapshot(self) -> PredictionSnapshot:
        """The prediction as last described, by a poll or by its event stream."""
        update: dict[str, object] = {}
        if self._chunks:
            # The stream is the server describing the prediction too: status and output.
            old = self._snapshot.output if isinstance(self._snapshot.output, list) else []
            update = {"status": PredictionStatus.PROCESSING, "output": [*old, *self._chunks]}
        if self._logs:
            update["logs"] = (self._snapshot.logs or "") + "".join(self._logs)
        if update:
            self._snapshot = self._snapshot.model_copy(update=update)
            self._chunks, self._logs = [], []
        return self._snapshot

    @snapshot.setter
    def snapshot(self, snapshot: PredictionSnapshot) -> None:
        self._snapshot, self._chunks, self._logs = snapshot, [], []

    def add_text(self, chunk: str) -> None:
        """Record a chunk of output that the event stream sent."""
        self._chunks.append(chunk)

    def add_log(self, line: str) -> None:
        """Record a line of the model's logs that the event stream sent."""
        self._logs.append(f"{line}\n")


class _TextProgress:
    """How much of a growing text output the caller has already been given."""

    def __init__(self) -> None:
        self._sent = 0

    def new_text(self, prediction: PredictionSnapshot) -> str:
        """The text of `prediction` the caller has not had yet, counted as given."""
        text = text_in(prediction.output)
        if text is None:
            return ""
        chunk = text[self._sent :]
        self._sent += len(chunk)
        return chunk

    def given(self, chunk: str) -> str:
        """`chunk`, which the event stream sent, counted as given."""
        self._sent += len(chunk)
        return chunk


def _clamp(timeout: httpx.Timeout, limit: float, read_at_least: float) -> httpx.Timeout:
    # No single request may outlive the caller's deadline.
    def cap(value: float | None) -> float:
        return limit if value is None else min(value, limit)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(max(timeout.read or 0.0, read_at_least) or None),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


def _where(request: httpx.Request) -> str:
    """The request, as messages name it: the method and a URL of readable length."""
    return f"{request.method} {shorten(request.url)}"


def _transport_error(request: httpx.Request, exc: httpx.HTTPError) -> APIError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{_where(request)} timed out: {type(exc).__name__}",
            request=request,
        )
    return APIConnectionError(
        f"{_where(request)} failed: {exc or type(exc).__name__}",
        request=request,
    )


def _complete(response: httpx.Response, body: bytes) -> httpx.Response:
    """`response` with its decoded `body` in place, as the error and decoding code expect it."""
    headers = response.headers
    if "content-encoding" in headers:
        headers = httpx.Headers(
            [(k, v) for k, v in headers.raw if k.lower() != b"content-encoding"]
        )
    # A stream read at once costs a third of `content=`, which rebuilds the headers: per answer.
    completed = httpx.Response(
        response.status_code,
        headers=headers,
        stream=httpx.ByteStream(body),
        request=response.request,
        extensions=response.extensions,
    )
    completed.read()
    return completed


def _data_uri(url: str) -> tuple[str | None, bytes]:
    """The media type and the bytes of a ``data:`` URI."""
    header, comma, payload = url.partition(",")
    if not comma:
        raise ValueError("a data: URI without a comma")
    media_type = _media_type(header.removeprefix("data:").removesuffix(";base64"))
    try:
        if header.endswith(";base64"):
            return media_type, base64.b64decode(payload)
        return media_type, urllib.parse.unquote_to_bytes(payload)
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise ValueError(f"a data: URI that does not decode ({exc})") from exc


_MAX_MEDIA_TYPE = 100
"""The longest content type kept from a server: a real one is a few dozen characters."""


def _media_type(value: str | None) -> str | None:
    # The server names it: keep it printable and short, or not at all.
    if not value or len(value) > _MAX_MEDIA_TYPE or not value.isprintable():
        return None
    return value


def outcome(snapshot: PredictionSnapshot) -> PredictionSnapshot:
    """`snapshot` if it succeeded with its output; otherwise the error that says how it ended.

    Raises:
        PredictionNotFinishedError: it has not ended yet.
    """
    if snapshot.status == PredictionStatus.SUCCEEDED:
        if snapshot.data_removed and snapshot.output is None:
            raise PredictionDataRemovedError(snapshot)
        return snapshot
    if snapshot.status == PredictionStatus.FAILED:
        raise PredictionFailedError(snapshot)
    if snapshot.status == PredictionStatus.CANCELED:
        raise PredictionCanceledError(snapshot)
    raise PredictionNotFinishedError(snapshot)


class Listing:
    """Where a listing of the account's predictions has got to: the next page's request.

    The cursors are the server's URLs: each must stay on the API's origin, none may repeat, and
    a run of empty pages ends the listing, so a server cannot keep a caller iterating forever.

    Raises:
        UnsupportedFeatureError: the backend cannot list predictions.
    """

    EMPTY_PAGES: ClassVar[int] = 10
    """The most empty pages in a row that a listing follows."""

    def __init__(self, protocol: WireProtocol) -> None:
        self._protocol = protocol
        self.request: httpx.Request | None = protocol.list_request(None)
        """The request for the next page; ``None`` once the last page has been read."""
        self._seen: set[str] = set()
        self._empty = 0

    def turn(self, page: PredictionPage) -> None:
        """Move on to the page after `page`."""
        self._empty = 0 if page.results else self._empty + 1
        cursor = page.next
        if not cursor or self._empty >= self.EMPTY_PAGES:
            self.request = None
            return
        if cursor in self._seen:
            raise ResponseValidationError(
                "The list of predictions loops: its next page is one already read",
                response=None,
                body=cursor[:200],
            )
        self._seen.add(cursor)
        try:
            self.request = self._protocol.list_request(cursor)
        except ValueError as exc:
            raise ResponseValidationError(
                f"Not following the list of predictions: {exc}", response=None, body=cursor[:200]
            ) from exc


class Lifecycle:
    """The flows of a prediction against one backend, with one retry policy, timeout and limits."""

    def __init__(
        self,
        protocol: WireProtocol,
        policy: RetryPolicy,
        timeout: httpx.Timeout,
        wait_timeout: float,
        limits: Limits,
        clock: Callable[[], float] = time.monotonic,
        *,
        file_encoding: FileEncoding = "url",
        history: PollStats | None = None,
    ) -> None:
        self.protocol = protocol
        self.policy = policy
        self.timeout = timeout
        self.wait_timeout = wait_timeout
        self.limits = limits
        self.clock = clock
        self.file_encoding = file_encoding
        self.history = PollStats() if history is None else history
        """Past runs per model, to poll when the next one should end; a client's to share."""

    def deadline(self, timeout: float | None = None) -> Deadline:
        """A deadline `timeout` seconds away, or `wait_timeout` away when it is ``None``."""
        return Deadline.after(self.wait_timeout if timeout is None else timeout, self.clock)

    def uploads(self, file_encoding: FileEncoding | None) -> bool:
        """Whether files go to the server as uploads (else inline): asked for, and possible."""
        wanted = self.file_encoding if file_encoding is None else check_encoding(file_encoding)
        return wanted == "url" and self.protocol.can_upload

    # --- one exchange: send, follow redirects, read within the deadline and the caps --------

    def _open(
        self, request: httpx.Request, deadline: Deadline, read_at_least: float = 0.0
    ) -> Flow[httpx.Response]:
        """Send `request`, following redirects; return the last response with its body unread."""
        redirects = 0
        while True:
            if deadline.expired:
                # Nothing is sent once the caller's time is up: its answer could not be read.
                raise APITimeoutError(
                    f"{_where(request)} was not sent: the deadline has passed",
                    request=request,
                )
            timeout = _clamp(self.timeout, deadline.remaining(), read_at_least)
            request.extensions["timeout"] = timeout.as_dict()
            if logger.isEnabledFor(logging.DEBUG):  # redact() is work a silent logger can skip
                logger.debug(
                    "%s %s headers=%s", request.method, request.url, redact(request.headers)
                )
            try:
                response = yield Send(request, deadline)
            except httpx.HTTPError as exc:
                raise _transport_error(request, exc) from exc
            if not isinstance(response, httpx.Response):
                raise RuntimeError("the driver resumed a Send step without a response")
            logger.debug("%s %s -> %d", request.method, request.url, response.status_code)
            if response.status_code not in _REDIRECTS or "location" not in response.headers:
                return response
            yield _CLOSE
            if redirects == MAX_REDIRECTS:
                raise ResponseValidationError(
                    f"{_where(request)} redirected more than {MAX_REDIRECTS} times",
                    response=response,
                    body="",
                )
            redirects += 1
            request = self._redirected(request, response)

    def _redirected(self, request: httpx.Request, response: httpx.Response) -> httpx.Request:
        """The request that follows `response`'s redirect, carrying credentials only if trusted."""
        try:
            url = parse_url(response.headers["location"], base=request.url)
        except ValueError as exc:
            raise ResponseValidationError(
                f"{_where(request)} redirected to an invalid location: {exc}",
                response=response,
                body="",
            ) from exc
        headers = httpx.Headers(request.headers)
        del headers["Host"]
        method, content = request.method, request.read()
        if (response.status_code == 303 and method != "HEAD") or (
            response.status_code in (301, 302) and method == "POST"
        ):
            method, content = "GET", b""
            for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
                headers.pop(name, None)
        if not self.protocol.trusts(url):
            headers.pop("Authorization", None)
            headers.pop("Cookie", None)
        return httpx.Request(method, url, headers=headers, content=content or None)

    def _chunk(self, response: httpx.Response, deadline: Deadline) -> Flow[bytes]:
        """The next raw chunk of `response`'s body, ``b""`` at its end."""
        request = response.request
        if deadline.expired:
            raise APITimeoutError(
                f"{_where(request)}: the deadline passed while reading the answer",
                request=request,
            )
        try:
            chunk = yield Read(deadline)
        except httpx.HTTPError as exc:
            raise _transport_error(request, exc) from exc
        if not isinstance(chunk, bytes):
            raise RuntimeError("the driver resumed a Read step without bytes")
        return chunk

    def _read(
        self, response: httpx.Response, deadline: Deadline, cap: int, *, truncate: bool = False
    ) -> Flow[bytes]:
        """`response`'s decoded body: at most `cap` bytes, cut there with `truncate`."""
        decoder = BodyDecoder(response, None if truncate else cap)
        pieces: list[bytes] = []
        while decoder.size < cap or not truncate:
            chunk = yield from self._chunk(response, deadline)
            pieces.extend(decoder.feed(chunk))
            if not chunk:
                break
        return b"".join(pieces)[:cap]

    def _open_ok(
        self, request: httpx.Request, deadline: Deadline, read_at_least: float = 0.0
    ) -> Flow[httpx.Response]:
        """`_open`, returning a 2xx response; raise the typed error for anything else."""
        response = yield from self._open(request, deadline, read_at_least)
        if response.is_success:
            return response
        try:
            # The status says enough: a little of the body is for the message.
            body = yield from self._read(response, deadline, _ERROR_BODY, truncate=True)
        except ResponseValidationError:
            body = b""
        yield _CLOSE
        raise error_for_status(_complete(response, body))

    def _exchange(
        self, request: httpx.Request, deadline: Deadline, read_at_least: float = 0.0
    ) -> Flow[httpx.Response]:
        response = yield from self._open_ok(request, deadline, read_at_least)
        body = yield from self._read(response, deadline, self.limits.response)
        yield _CLOSE
        return _complete(response, body)

    def _retried(
        self,
        attempt: Callable[[], Flow[T]],
        deadline: Deadline,
        *,
        idempotent: bool,
        patient: bool = False,
    ) -> Flow[T]:
        """Run the flow that `attempt` makes, again as the policy says for this kind of request."""
        try:
            return (yield from attempt())
        except APIError as exc:
            failure = exc
        # Most requests succeed at once: the retry machinery is built only for those that fail.
        retrying = self.policy.requests(deadline, idempotent=idempotent, patient=patient)
        retrying.begin()
        state = tenacity.RetryCallState(retrying, None, (), {})
        state.set_exception((type(failure), failure, failure.__traceback__))
        while True:
            action = retrying.iter(state)
            if isinstance(action, tenacity.DoAttempt):
                if deadline.expired:
                    # Too late to send again: the last answer, such as a 429, says what happened.
                    raise failure
                try:
                    state.set_result((yield from attempt()))
                except APIError as exc:
                    if deadline.expired and isinstance(exc, APITimeoutError):
                        # The deadline, not the server, cut this one short: the answer before
                        # it, such as a 502, says more about what happened.
                        raise failure from exc
                    failure = exc
                    state.set_exception((type(exc), exc, exc.__traceback__))
            elif isinstance(action, tenacity.DoSleep):
                state.prepare_for_next_attempt()
                yield Sleep(float(action))
            else:
                return cast(T, action)

    def request(
        self,
        request: httpx.Request,
        deadline: Deadline,
        *,
        idempotent: bool,
        patient: bool = False,
        read_at_least: float = 0.0,
    ) -> Flow[httpx.Response]:
        """Send `request` and return its 2xx answer, read whole; retried as the policy says."""
        return (
            yield from self._retried(
                lambda: self._exchange(request, deadline, read_at_least),
                deadline,
                idempotent=idempotent,
                patient=patient,
            )
        )

    # --- the prediction's flows -----------------------------------------------------------------

    def create(
        self,
        target: Target,
        input: Mapping[str, object],
        deadline: Deadline,
        *,
        hold: bool = False,
        options: CreateOptions = CreateOptions(),  # noqa: B008 (immutable)
        file_encoding: FileEncoding | None = None,
    ) -> Flow[PredictionSnapshot]:
        """Start a prediction. With `hold`, ask the server to answer only once it has finished.

        Files in `input` are uploaded first, or inlined (see `_send_files`). The hold ends a
        second before the deadline, and the read timeout covers it.
        """
        input = yield from self._send_files(input, file_encoding, deadline)
        seconds = min(self.protocol.max_hold, math.floor(deadline.remaining() - 1))
        held = hold and seconds >= 1
        request = self.protocol.create_request(
            target, input, hold=seconds if held else None, options=options
        )
        response = yield from self.request(
            request, deadline, idempotent=False, read_at_least=seconds + 5 if held else 0.0
        )
        snapshot = self.protocol.read_created(response, target)
        logger.info("Created prediction %s (%s)", snapshot.id, target.name)
        return snapshot

    def _send_files(
        self, input: Mapping[str, object], file_encoding: FileEncoding | None, deadline: Deadline
    ) -> Flow[Mapping[str, object]]:
        """`input` with each file in it uploaded and replaced by its URL, or by a data: URI.

        Every file is read, within its cap, before the first upload: a file that cannot be
        sent fails the call before any request.
        """
        upload = self.uploads(file_encoding)
        read, files = read_files(input, upload=upload)
        if not files:
            return input
        if not upload:
            return fill(read, InputFile.data_uri)
        urls: dict[InputFile, str] = {}
        for file in files:
            # Retried like a read: a retry after an upload that did arrive leaves a spare copy
            # in the account until it expires, which costs nothing; a failed call costs a run.
            response = yield from self.request(
                self.protocol.upload_request(file), deadline, idempotent=True
            )
            urls[file] = self.protocol.read_upload(response)
            logger.info("Uploaded %s (%s bytes)", file.where, f"{len(file.data):,}")
        return fill(read, urls.__getitem__)

    def get(
        self, prediction_id: str, deadline: Deadline, *, patient: bool = False
    ) -> Flow[PredictionSnapshot]:
        """Read a prediction's current state; `patient`ly within a wait (see `RetryPolicy`)."""
        request = self.protocol.get_request(prediction_id)
        response = yield from self.request(request, deadline, idempotent=True, patient=patient)
        return self.protocol.read_prediction(response)

    def list_page(self, listing: Listing, deadline: Deadline) -> Flow[PredictionPage]:
        """Read the next page of `listing`, and turn it to the page after; empty past the end."""
        if listing.request is None:
            return PredictionPage(results=[])
        response = yield from self.request(listing.request, deadline, idempotent=True)
        page = decode_model(response, PredictionPage, {})
        listing.turn(page)
        return page

    def cancel(self, prediction_id: str, deadline: Deadline) -> Flow[PredictionSnapshot]:
        """Ask the server to cancel a prediction; return its state after that."""
        request = self.protocol.cancel_request(prediction_id)
        response = yield from self.request(request, deadline, idempotent=True)
        return self.protocol.read_prediction(response)

    def webhook_secret(self, deadline: Deadline) -> Flow[str]:
        """Read the signing secret of the account's default webhook (``whsec_...``)."""
        request = self.protocol.webhook_secret_request()
        response = yield from self.request(request, deadline, idempotent=True)
        return self.protocol.read_webhook_secret(response)

    def download(
        self,
        url: str,
        deadline: Deadline,
        *,
        image: bool = False,
        on_type: Callable[[str | None], None] | None = None,
    ) -> Flow[None]:
        """Fetch an output file, emitting its bytes as they arrive; decode a ``data:`` URI.

        With `image`, a file that does not start like an image is refused before any of it is
        emitted. `on_type` hears the file's content type once it is known. Opening the download
        is retried; a transfer that breaks half way is not, as its first bytes may already be
        written.
        """
        checker = _ImageCheck(url) if image else None
        if url.startswith("data:"):
            try:
                media_type, data = _data_uri(url)
            except ValueError as exc:
                raise ResponseValidationError(
                    f"An output URL is {exc}", response=None, body=url[:200]
                ) from exc
            if len(data) > self.limits.download:
                raise ResponseTooLargeError(
                    f"An output data: URI holds {len(data):,} bytes, more than the limit of "
                    f"{self.limits.download:,}; raise max_download_bytes if it is expected.",
                    request=None,
                    limit=self.limits.download,
                )
            if on_type is not None:
                on_type(media_type)
            yield Emit(checker.whole(data) if checker is not None else data)
            return
        try:
            request = self.protocol.download_request(url)
        except ValueError as exc:
            raise ResponseValidationError(
                f"An output URL is not one to fetch: {exc}", response=None, body=url[:200]
            ) from exc
        response = yield from self._retried(
            lambda: self._open_ok(request, deadline), deadline, idempotent=True
        )
        if on_type is not None:
            on_type(_media_type(response.headers.get("content-type")))
        decoder = BodyDecoder(response, self.limits.download)
        while True:
            chunk = yield from self._chunk(response, deadline)
            for piece in decoder.feed(chunk):
                if checker is not None:
                    piece = checker.feed(piece)
                if piece:
                    yield Emit(piece)
            if not chunk:
                break
        if checker is not None and (rest := checker.whole(b"")):
            yield Emit(rest)
        yield _CLOSE

    def _follow_stream(
        self,
        request: httpx.Request,
        tracked: Tracked,
        deadline: Deadline,
        progress: _TextProgress | None,
        on_update: Callable[[PredictionSnapshot], None] | None,
    ) -> Flow[None]:
        """Read the prediction's event stream (`request`) until it says the prediction is done.

        The protocol says what each event means (`read_event`): text updates `tracked` as it
        comes, and `on_update` hears of it at most every `UPDATE_EVERY` seconds. A stream that
        fails or times out just ends early: the caller then polls, or reports the timeout. One
        that sends more than the limits raises `ResponseTooLargeError`.
        """
        prediction_id = tracked.snapshot.id
        try:
            response = yield from self._open_ok(request, deadline)
        except APIError as exc:
            logger.info("No event stream for %s (%s); polling", prediction_id, exc)
            return
        body = BodyDecoder(response, None)  # each event is capped instead, and the text in all
        events = SSEDecoder(max_line=self.limits.event, max_event=self.limits.event)
        text = 0
        updated = -math.inf  # the first event is news at once
        read_event = self.protocol.read_event  # once, not per token
        try:
            while True:
                chunk = yield from self._chunk(response, deadline)
                for piece in body.feed(chunk):
                    for event in events.feed(piece):
                        item = read_event(event)
                        if item is None:
                            continue
                        if isinstance(item, StreamEnd):
                            yield _CLOSE
                            return
                        data, log = item
                        text += len(data)
                        if text > self.limits.response:
                            raise ResponseTooLargeError(
                                f"The event stream of {prediction_id} sent more text than "
                                f"the limit of {self.limits.response:,}; raise "
                                "max_response_bytes if it is expected.",
                                request=request,
                                limit=self.limits.response,
                            )
                        if log:
                            tracked.add_log(data)
                        else:
                            tracked.add_text(data)
                            if progress is not None:
                                yield Emit(progress.given(data))
                        # Each update folds the text so far into a snapshot: not per token.
                        if on_update is not None and self.clock() - updated >= UPDATE_EVERY:
                            updated = self.clock()
                            on_update(tracked.snapshot)
                if not chunk:
                    break
        except EventTooLargeError as exc:
            raise ResponseTooLargeError(
                f"The event stream of {prediction_id} sent {exc}; raise max_event_bytes if it is "
                "expected.",
                request=request,
                limit=self.limits.event,
            ) from exc
        except ResponseTooLargeError:
            raise
        except APIError as exc:
            logger.info("Event stream of %s broke (%s); polling", prediction_id, exc)
        yield _CLOSE

    def wait(
        self,
        tracked: Tracked,
        deadline: Deadline,
        *,
        stream: bool = False,
        on_update: Callable[[PredictionSnapshot], None] | None = None,
    ) -> Flow[PredictionSnapshot]:
        """Follow the prediction until it ends or the deadline passes; with `stream`, emit text.

        Where the backend offers an event stream, completion is seen as it happens; otherwise,
        or if the stream breaks, the prediction is polled with back-off. `on_update` sees every
        snapshot a poll returns, for progress displays. Returns the succeeded snapshot; raises
        `PredictionFailedError`, `PredictionCanceledError` or `PredictionTimeoutError` otherwise.
        """
        progress = _TextProgress() if stream else None
        request = self.protocol.stream_request(tracked.snapshot)
        if request is not None and not tracked.snapshot.status.is_terminal:
            yield from self._follow_stream(request, tracked, deadline, progress, on_update)
            if not deadline.expired:
                yield from self._poll(tracked, deadline, on_update)
        # Text is shown as it grows, so a stream polls on the usual rhythm; a wait polls when
        # past runs of the model say it will end.
        expected = (
            None
            if stream or tracked.since is None
            else self.history.expected(tracked.snapshot.model, tracked.snapshot.version)
        )
        retrying = self.policy.polling(deadline, expected, tracked.since or 0.0, stream=stream)
        retrying.begin()
        state = tenacity.RetryCallState(retrying, None, (), {})
        # What we already know counts as the first poll: a finished prediction needs none.
        state.set_result(tracked.snapshot)
        while True:
            # The text that polls bring reaches the caller here only: first what is known
            # already, then what each poll adds.
            if progress is not None and (chunk := progress.new_text(tracked.snapshot)):
                yield Emit(chunk)
            action = retrying.iter(state)
            while isinstance(action, tenacity.DoSleep):
                state.prepare_for_next_attempt()
                yield Sleep(float(action))
                action = retrying.iter(state)
            if not isinstance(action, tenacity.DoAttempt):
                self.history.record(tracked.snapshot)
                if not tracked.snapshot.status.is_terminal:
                    raise PredictionTimeoutError(tracked.snapshot, deadline.seconds)
                return outcome(tracked.snapshot)
            yield from self._poll(tracked, deadline, on_update)
            state.set_result(tracked.snapshot)

    def _poll(
        self,
        tracked: Tracked,
        deadline: Deadline,
        on_update: Callable[[PredictionSnapshot], None] | None,
    ) -> Flow[None]:
        try:
            tracked.snapshot = yield from self.get(tracked.snapshot.id, deadline, patient=True)
        except APIError as exc:
            if deadline.expired:
                raise PredictionTimeoutError(tracked.snapshot, deadline.seconds) from exc
            raise
        if on_update is not None:
            on_update(tracked.snapshot)

    def generate(
        self,
        spec: ModelSpec,
        input: Mapping[str, object],
        deadline: Deadline,
        *,
        stream: bool = False,
        file_encoding: FileEncoding | None = None,
    ) -> Flow[PredictionSnapshot]:
        """Create a prediction and wait for it, all within one deadline.

        Without `stream`, the create holds (``Prefer: wait``) where the backend can, so a short
        prediction finishes in a single request. At the deadline the caller has no handle on
        the prediction, so where the backend can cancel, it is canceled (within
        `CANCEL_GRACE` more seconds) before `PredictionTimeoutError` is raised.
        """
        snapshot = yield from self.create(
            spec, input, deadline, hold=not stream, file_encoding=file_encoding
        )
        tracked = Tracked(snapshot, since=self.clock())
        try:
            return (yield from self.wait(tracked, deadline, stream=stream))
        except PredictionTimeoutError:
            yield from self._cancel_unwanted(tracked.snapshot.id)
            raise

    def _cancel_unwanted(self, prediction_id: str) -> Flow[None]:
        try:
            request = self.protocol.cancel_request(prediction_id)
        except UnsupportedFeatureError:
            return
        grace = Deadline.after(CANCEL_GRACE, self.clock)
        try:
            yield from self._exchange(request, grace)
        except APIError as exc:
            logger.warning("Could not cancel %s after its deadline: %s", prediction_id, exc)
        else:
            logger.info("Canceled %s: its caller's deadline passed", prediction_id)


class _ImageCheck:
    """Holds back the first bytes of a download until they show it is an image."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._head: bytes | None = b""  # None once checked

    def feed(self, piece: bytes) -> bytes:
        """What of `piece` may be emitted now."""
        if self._head is None:
            return piece
        self._head += piece
        if len(self._head) < _IMAGE_HEAD:
            return b""
        return self.whole(b"")

    def whole(self, rest: bytes) -> bytes:
        """Everything held back plus `rest`, once checked; at the end of the file, the check."""
        if self._head is None:
            return rest
        head, self._head = self._head + rest, None
        if not is_image(head[:_IMAGE_HEAD]):
            raise ResponseValidationError(
                f"The output at {shorten(self._url)} is not an image (it starts {head[:8]!r}); "
                "nothing was written.",
                response=None,
                body="",
            )
        return head
