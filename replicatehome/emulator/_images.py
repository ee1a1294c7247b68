"""Deterministic PNG images made from a prompt, with nothing but the standard library.

The same prompt, index and size always give the same bytes, so tests can compare files. The
picture is diagonal bands in colours taken from the prompt's SHA-256: obviously synthetic, and
different enough between prompts to tell them apart at a glance.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib

__all__ = ["png_bytes"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _strip(first: bytes, second: bytes, period: int, length: int) -> bytes:
    """RGB pixels that fade from `first` to `second` and back every `period` pixels."""
    pixels = bytearray()
    for k in range(length):
        phase = abs((k % period) / period * 2 - 1)
        pixels += bytes(round(a + (b - a) * phase) for a, b in zip(first, second, strict=True))
    return bytes(pixels)


@functools.lru_cache(maxsize=128)
def png_bytes(prompt: str, index: int = 0, size: int = 256) -> bytes:
    """Return a `size` x `size` RGB PNG drawn from `prompt` (and `index`, for several images).

    Only whole rows are computed in Python: each row is a slice of two precomputed strips, so a
    512 x 512 image takes a few milliseconds. Results are cached.
    """
    digest = hashlib.sha256(f"{index}:{prompt}".encode()).digest()
    period = 16 + digest[12] % max(1, size // 2)
    band = 8 + digest[13] % 56
    strips = (
        _strip(digest[0:3], digest[3:6], period, 2 * size),
        _strip(digest[6:9], digest[9:12], period, 2 * size),
    )
    # Row y starts `size - y` pixels into the strip, which slants the bands; every `band` rows
    # the other strip takes over, which stacks them in horizontal stripes.
    rows = b"".join(
        b"\x00" + strips[(y // band) % 2][3 * (size - y) : 3 * (2 * size - y)] for y in range(size)
    )
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 6))
        + _chunk(b"IEND", b"")
    )
