"""Decoding a response body as it arrives, within a size cap. No I/O.

httpx would decompress a chunk whole: 64 KiB of gzip can become 64 MiB before anything could
check it. Here each raw chunk is inflated in pieces of at most `PIECE` bytes, and the decoded
total is checked against the cap after every piece, so memory stays near the cap whatever the
server sends. We ask only for the encodings decoded here (`ACCEPT_ENCODING`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

from ._shorten import shorten
from .errors import ResponseTooLargeError, ResponseValidationError

__all__ = ["ACCEPT_ENCODING", "PIECE", "BodyDecoder"]

ACCEPT_ENCODING = "gzip, deflate"
"""The ``Accept-Encoding`` every request sends: what `BodyDecoder` can decode."""

PIECE = 64 * 1024
"""The most bytes one step of decompression may produce."""

_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class _Inflate:
    """One zlib layer that yields its output in bounded pieces."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits)
        self._head: bytes | None = b"" if wbits == zlib.MAX_WBITS else None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib.eof:
            return  # what follows the compressed body is not part of it
        if self._head is not None:
            # A zlib header is two bytes: have both before telling it from raw deflate.
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, None
            yield from self._start(data)
        else:
            yield self._zlib.decompress(data, PIECE)
        while self._zlib.unconsumed_tail and not self._zlib.eof:
            yield self._zlib.decompress(self._zlib.unconsumed_tail, PIECE)

    def _start(self, data: bytes) -> Iterator[bytes]:
        try:
            yield self._zlib.decompress(data, PIECE)
        except zlib.error:
            # Some servers send raw deflate, without the zlib header, as "deflate".
            self._wbits = -zlib.MAX_WBITS
            self._zlib = zlib.decompressobj(self._wbits)
            yield self._zlib.decompress(data, PIECE)

    def end(self) -> Iterator[bytes]:
        if self._head:  # a body of one byte
            data, self._head = self._head, None
            yield from self._start(data)
        # Output zlib still holds, in pieces: `flush` has no length limit.
        while not self._zlib.eof and (piece := self._zlib.decompress(b"", PIECE)):
            yield piece


class BodyDecoder:
    """Turns the raw chunks of `response` into decoded pieces, at most `cap` bytes in all.

    With `cap` ``None`` the total is not limited: the caller bounds what it keeps, as the event
    stream decoder does per event. Raises `ResponseTooLargeError` past the cap and
    `ResponseValidationError` for an encoding it cannot decode or a body that does not decompress.
    """

    def __init__(self, response: httpx.Response, cap: int | None) -> None:
        self._response = response
        self._cap = cap
        self.size = 0
        """Decoded bytes so far."""
        names = response.headers.get("content-encoding", "").lower().split(",")
        self._layers: list[_Inflate] = []
        for name in reversed([name.strip() for name in names]):
            if name in ("", "identity"):
                continue
            if name not in _WBITS:
                raise self._invalid(f"an unsupported Content-Encoding {name[:40]!r}")
            self._layers.append(_Inflate(_WBITS[name]))

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw chunk (``b""`` for the end of the body)."""
        try:
            for piece in self._decode(chunk, 0):
                if piece:
                    self.size += len(piece)
                    if self._cap is not None and self.size > self._cap:
                        raise ResponseTooLargeError(
                            f"{self._describe()} is larger than the limit of {self._cap:,} "
                            "bytes; raise the client's limit if this answer is expected.",
                            request=self._response.request,
                            limit=self._cap,
                        )
                    yield piece
        except zlib.error as exc:
            raise self._invalid(f"a body that does not decompress ({exc})") from exc

    def _decode(self, data: bytes, layer: int) -> Iterator[bytes]:
        if layer == len(self._layers):
            yield data
            return
        inflate = self._layers[layer]
        for piece in inflate.feed(data) if data else inflate.end():
            if piece:
                yield from self._decode(piece, layer + 1)
        if not data:
            yield from self._decode(b"", layer + 1)

    def _describe(self) -> str:
        request = self._response.request
        return f"The answer to {request.method} {shorten(request.url)}"

    def _invalid(self, what: str) -> ResponseValidationError:
        return ResponseValidationError(
            f"{self._describe()} has {what}.", response=self._response, body=""
        )
