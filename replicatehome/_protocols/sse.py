"""A pure Server-Sent Events decoder (the WHATWG ``text/event-stream`` format).

Bytes go in as they arrive, in chunks of any size; whole events come out. No I/O, so the
lifecycle can read a stream through either driver and tests can feed it plain bytes.

The stream comes from a server we do not trust: each chunk is scanned once, so the cost is
linear in the input however it is split, and a line or an event longer than its cap raises
`EventTooLargeError` instead of growing without bound.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["EventTooLargeError", "SSEDecoder", "ServerSentEvent"]

_LINE_END = re.compile(r"\r\n|\r|\n")
_RETRY = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its type, its data (``data:`` lines joined with ``\\n``), last id."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class EventTooLargeError(ValueError):
    """A line or an event of the stream is longer than the decoder's cap."""


class SSEDecoder:
    """Turns chunks of an event stream into `ServerSentEvent` values.

    Args:
        max_line: the longest line accepted, in characters.
        max_event: the most characters of ``data:`` an event may gather.
    """

    def __init__(self, *, max_line: int = 1 << 20, max_event: int = 1 << 20) -> None:
        # Incremental, so a UTF-8 character split across two chunks still decodes.
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max_line = max_line
        self._max_event = max_event
        self._partial: list[str] = []  # the pieces of a line not yet ended
        self._partial_size = 0
        self._after_cr = False  # the last line ended with \r: a leading \n belongs to it
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._data_size = 0
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Add a chunk; return the events it completes, in order.

        Raises:
            EventTooLargeError: a line or an event is longer than its cap.
        """
        text = self._text.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        start = 1 if self._after_cr and text.startswith("\n") else 0
        if text:
            self._after_cr = False
        events = []
        for end in _LINE_END.finditer(text, start):
            line = text[start : end.start()]
            if self._partial:
                line = "".join(self._partial) + line
                self._partial, self._partial_size = [], 0
            self._check_line(len(line))
            start = end.end()
            if (event := self._line(line)) is not None:
                events.append(event)
            self._after_cr = end.group() == "\r" and start == len(text)
        if start < len(text):
            self._check_line(self._partial_size + len(text) - start)
            self._partial.append(text[start:])
            self._partial_size += len(text) - start
        return events

    def end(self) -> list[ServerSentEvent]:
        """The stream has ended. An unfinished event is dropped, as the format says."""
        return []

    def _check_line(self, size: int) -> None:
        if size > self._max_line:
            raise EventTooLargeError(f"an event-stream line is longer than {self._max_line:,}")

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):  # a comment, such as a keep-alive
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data_size += len(value) + 1
            if self._data_size > self._max_event:
                raise EventTooLargeError(
                    f"an event-stream event is longer than {self._max_event:,}"
                )
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._last_id = value
        elif field == "retry" and _RETRY.fullmatch(value):
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event, data = self._event or "message", self._data
        self._event, self._data, self._data_size = "", [], 0
        if not data:  # the spec drops events without data
            return None
        return ServerSentEvent(event, "\n".join(data), self._last_id, self._retry)
