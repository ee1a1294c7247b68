"""What parsing a hostile server's answer costs: CPU time for input of size 1x and 10x.

Run with ``uv run python benchmarks/parse_cost.py``. The event-stream decoder, the body decoder
and the lifecycle following an event stream each get the same shapes of input at two sizes:
one long line near the cap, many small events, one big gzip body. A ratio 10x/1x near 10 means
the cost is linear in the input however the server shapes it; near 100 would be quadratic.
No network: the lifecycle is driven by hand, as the tests do. Prints a Markdown report.
"""

from __future__ import annotations

import gzip
import json
import platform
import random
import time
from collections.abc import Callable, Iterator

import httpx

from replicatehome._body import BodyDecoder
from replicatehome._lifecycle import (
    Emit,
    Finished,
    Lifecycle,
    Limits,
    Read,
    Send,
    Sleep,
    Tracked,
    resume,
)
from replicatehome._models import PredictionSnapshot
from replicatehome._protocols.official import OfficialProtocol
from replicatehome._protocols.sse import SSEDecoder
from replicatehome._retry import RetryPolicy
from replicatehome._untrusted import REPLICATE_HOSTS, Trust

API_URL = "https://api.replicate.com"
CHUNK = 16 * 1024
"""Bytes per read, about what a socket hands over at a time."""
RUNS = 5
"""Each measure is the least CPU time of this many runs: the others were interrupted."""
LONG_LINE = 1024 * 1024
"""Characters of the long line at 1x; the cap is set just above it."""
SMALL_EVENTS = 10_000
"""Output events at 1x, a token each, as a text model streams them."""
GZIP_BODY = 4 * 1024 * 1024
"""Decoded bytes of the gzip body at 1x."""
DONE = b"event: done\ndata: {}\n\n"
"""How a stream of the official API ends."""


def chunks(data: bytes, size: int = CHUNK) -> list[bytes]:
    """`data` as the reads of a socket would return it."""
    return [data[start : start + size] for start in range(0, len(data), size)]


def long_line(scale: int) -> tuple[bytes, int]:
    """One ``data:`` line of `scale` x `LONG_LINE` characters, and a cap just above it."""
    size = scale * LONG_LINE
    return b"event: output\ndata: " + b"x" * size + b"\n\n", size + size // 100 + 16


def small_events(scale: int) -> bytes:
    """`scale` x `SMALL_EVENTS` one-token output events."""
    return b"event: output\ndata: tok\n\n" * (scale * SMALL_EVENTS)


def text_like(size: int) -> bytes:
    """`size` bytes of words, compressible as JSON or text is (about 3:1 with gzip)."""
    rng = random.Random(0)
    words = [
        bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(4096)
    ]
    block = b" ".join(rng.choices(words, k=200_000))[: 1 << 20]
    return (block * (size // len(block) + 1))[:size]


def cpu(run: Callable[[], object], runs: int = RUNS) -> float:
    """The least CPU time, in seconds, that `run` took over `runs` calls."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def decode_events(data: bytes, cap: int) -> Callable[[], object]:
    """Feed `data` to a fresh `SSEDecoder`, read by read."""
    pieces = chunks(data)

    def run() -> int:
        """The number of events decoded."""
        decoder = SSEDecoder(max_line=cap, max_event=cap)
        return sum(len(decoder.feed(piece)) for piece in pieces)

    return run


def decode_body(compressed: bytes, cap: int) -> Callable[[], object]:
    """Inflate `compressed` through a fresh `BodyDecoder`, read by read."""
    pieces = [*chunks(compressed), b""]
    request = httpx.Request("GET", f"{API_URL}/v1/predictions/p1")
    response = httpx.Response(200, headers={"content-encoding": "gzip"}, request=request)

    def run() -> int:
        """The number of bytes decoded."""
        decoder = BodyDecoder(response, cap)
        return sum(len(out) for piece in pieces for out in decoder.feed(piece))

    return run


def follow_stream(stream: bytes, *, encoding: str = "", event_cap: int) -> Callable[[], object]:
    """Run `Lifecycle.wait(stream=True)` over `stream`, then a poll that says it succeeded."""
    protocol = OfficialProtocol(
        API_URL,
        httpx.Headers({"User-Agent": "bench"}),
        "r8_bench",
        Trust.of(API_URL, REPLICATE_HOSTS),
    )
    limits = Limits(response=1 << 30, event=event_cap, download=1 << 20)
    done = json.dumps({"id": "p1", "status": "succeeded", "output": []}).encode()
    pieces = chunks(stream)

    def reads(request: httpx.Request) -> Iterator[bytes]:
        """The raw chunks of the answer to `request`: the stream, or the finished prediction."""
        yield from pieces if request.headers.get("accept") == "text/event-stream" else [done]
        yield b""

    def run() -> int:
        """Drive the flow to its end, as a driver would; the number of characters emitted."""
        life = Lifecycle(protocol, RetryPolicy(), httpx.Timeout(30.0), 300.0, limits)
        start = PredictionSnapshot.model_validate(
            {"id": "p1", "status": "processing", "urls": {"stream": f"{API_URL}/stream/p1"}}
        )
        flow = life.wait(Tracked(start), life.deadline(), stream=True)
        reply: httpx.Response | bytes | None = None
        body: Iterator[bytes] = iter(())
        emitted = 0
        while not isinstance(step := resume(flow, reply), Finished):
            reply = None
            if isinstance(step, Send):
                streaming = step.request.headers.get("accept") == "text/event-stream"
                headers = {"content-encoding": encoding} if streaming and encoding else {}
                reply = httpx.Response(200, headers=headers, request=step.request)
                body = reads(step.request)
            elif isinstance(step, Read):
                reply = next(body)
            elif isinstance(step, Emit):
                emitted += len(step.chunk)
            elif isinstance(step, Sleep):
                raise RuntimeError("the benchmark's prediction should need no sleep")
        return emitted

    return run


def sse_long_line(scale: int) -> Callable[[], object]:
    """The SSE decoder, one long line near its cap."""
    stream, cap = long_line(scale)
    return decode_events(stream, cap)


def sse_small_events(scale: int) -> Callable[[], object]:
    """The SSE decoder, many small events."""
    return decode_events(small_events(scale), 1 << 20)


def body_gzip(scale: int) -> Callable[[], object]:
    """The body decoder, one big gzip body, within a cap of its decoded size."""
    size = scale * GZIP_BODY
    return decode_body(gzip.compress(text_like(size), 6), size)


def follow_long_line(scale: int) -> Callable[[], object]:
    """The lifecycle following a stream of one long event near the event cap."""
    stream, cap = long_line(scale)
    return follow_stream(stream + DONE, event_cap=cap)


def follow_small_events(scale: int) -> Callable[[], object]:
    """The lifecycle following a stream of many small events."""
    return follow_stream(small_events(scale) + DONE, event_cap=1 << 20)


def follow_gzip_events(scale: int) -> Callable[[], object]:
    """The lifecycle following a gzip-compressed stream of many small events."""
    stream = gzip.compress(small_events(scale) + DONE)
    return follow_stream(stream, encoding="gzip", event_cap=1 << 20)


ROWS: list[tuple[str, str, Callable[[int], Callable[[], object]]]] = [
    ("SSEDecoder: one long line near the cap", f"{LONG_LINE >> 20} MiB line", sse_long_line),
    ("SSEDecoder: many small events", f"{SMALL_EVENTS:,} events", sse_small_events),
    ("BodyDecoder: one big gzip body", f"{GZIP_BODY >> 20} MiB decoded", body_gzip),
    (
        "Lifecycle stream: one long line near the cap",
        f"{LONG_LINE >> 20} MiB line",
        follow_long_line,
    ),
    ("Lifecycle stream: many small events", f"{SMALL_EVENTS:,} events", follow_small_events),
    ("Lifecycle stream: many small events, gzip", f"{SMALL_EVENTS:,} events", follow_gzip_events),
]
"""Each row: what is measured, its input at 1x, and the run to time at a scale."""


def main() -> None:
    """Print the report."""
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d')}"
    )
    print(f"CPU time, least of {RUNS} runs; reads of {CHUNK // 1024} KiB.")
    print()
    print("| measure | input at 1x | CPU 1x | CPU 10x | 10x / 1x |")
    print("|---|---|---|---|---|")
    for name, size, make in ROWS:
        one, ten = cpu(make(1)), cpu(make(10))
        print(f"| {name} | {size} | {one * 1000:.1f} ms | {ten * 1000:.1f} ms | {ten / one:.1f} |")


if __name__ == "__main__":
    main()
