"""A pure Server-Sent Events decoder (the WHATWG ``text/event-stream`` format).

Bytes go in as they arrive, in chunks of any size; whole events come out. No I/O, so the
lifecycle can read a stream through either driver and tests can feed it plain bytes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent"]

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its type, its data (``data:`` lines joined with ``\\n``), last id."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns chunks of an event stream into `ServerSentEvent` values."""

    def __init__(self) -> None:
        # Incremental, so a UTF-8 character split across two chunks still decodes.
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Add a chunk; return the events it completes, in order."""
        text = self._buffer + self._text.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        events = []
        while (end := _LINE_END.search(text)) is not None:
            if end.group() == "\r" and end.end() == len(text):
                break  # perhaps the first half of a \r\n split between chunks
            line, text = text[: end.start()], text[end.end() :]
            if (event := self._line(line)) is not None:
                events.append(event)
        self._buffer = text
        return events

    def end(self) -> list[ServerSentEvent]:
        """The stream has ended: finish a last line that ended with a lone ``\r``."""
        if not self._buffer.endswith("\r"):
            return []
        self._buffer = self._buffer[:-1] + "\n"
        return self.feed(b"")

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
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._last_id = value
        elif field == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        if not data:  # the spec drops events without data
            return None
        return ServerSentEvent(event, "\n".join(data), self._last_id, self._retry)
