"""The pure Server-Sent Events decoder, fed plain bytes."""

from __future__ import annotations

import pytest

from replicatehome._protocols.sse import ServerSentEvent, SSEDecoder

REPLICATE_STREAM = (
    b"event: output\nid: 1\ndata: Hello\n\n"
    b"event: output\nid: 2\ndata: , world\n\n"
    b"event: logs\nid: 3\ndata: step 1\n\n"
    b"event: done\nid: 4\ndata: {}\n\n"
)
EXPECTED = [
    ServerSentEvent("output", "Hello", "1"),
    ServerSentEvent("output", ", world", "2"),
    ServerSentEvent("logs", "step 1", "3"),
    ServerSentEvent("done", "{}", "4"),
]


def feed_all(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)] + decoder.end()


def test_a_whole_stream_at_once() -> None:
    assert feed_all([REPLICATE_STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_any_chunking_gives_the_same_events(size: int) -> None:
    chunks = [REPLICATE_STREAM[i : i + size] for i in range(0, len(REPLICATE_STREAM), size)]
    assert feed_all(chunks) == EXPECTED


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(newline: bytes) -> None:
    stream = REPLICATE_STREAM.replace(b"\n", newline)
    assert feed_all([stream]) == EXPECTED
    assert feed_all([stream[i : i + 1] for i in range(len(stream))]) == EXPECTED


def test_multiline_data_is_joined_with_newlines() -> None:
    assert feed_all([b"event: output\ndata: line one\ndata:line two\ndata\n\n"]) == [
        ServerSentEvent("output", "line one\nline two\n")
    ]


def test_comments_empty_events_and_unknown_fields_are_ignored() -> None:
    stream = b": keep-alive\n\nevent: ping\n\nfoo: bar\ndata: x\n\n"
    assert feed_all([stream]) == [ServerSentEvent("message", "x")]


def test_utf8_split_between_chunks_and_a_leading_bom() -> None:
    body = "\ufeffdata: caf\u00e9 \u2603\n\n".encode()
    chunks = [body[i : i + 1] for i in range(len(body))]
    assert feed_all(chunks) == [ServerSentEvent("message", "caf\u00e9 \u2603")]


def test_id_persists_and_retry_is_read() -> None:
    events = feed_all(
        [b"id: 7\nretry: 1500\ndata: a\n\ndata: b\n\nretry: soon\nid: x\0y\ndata: c\n\n"]
    )
    assert events == [
        ServerSentEvent("message", "a", "7", 1500),
        ServerSentEvent("message", "b", "7", 1500),
        ServerSentEvent("message", "c", "7", 1500),
    ]


def test_an_unfinished_event_is_not_dispatched() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: output\ndata: partial") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent("output", "partial")]
