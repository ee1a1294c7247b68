"""Deterministic images made from a prompt, in PNG, WebP or JPEG, with nothing but the standard
library, and cheap at any size the catalog's models take.

The same prompt, index, seed, size and format always give the same bytes, so tests can compare
files. The colours come from a SHA-256 of the prompt, the image's index and the seed:

- a PNG shows diagonal bands fading between colours: obviously synthetic, and different
  enough between prompts to tell them apart at a glance. It is a palette image, one byte a
  pixel, whose rows are slices of one precomputed strip and are compressed as they are made, so
  a 1536 x 1536 image costs about 10 ms and no more than a few hundred kilobytes of memory
  on the way;
- a WebP is a lossless (VP8L) image of one colour. Every prefix code has a single symbol, which
  takes no bit to write, so the file is 34 bytes whatever its size;
- a JPEG is a baseline image of one colour: every 8 x 8 block is two bits (no change of DC, end
  of block), so 1024 x 1024 is about 12 kB.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["MEDIA_TYPES", "ImageFormat", "Picture", "image_bytes"]

ImageFormat = Literal["png", "webp", "jpg"]
"""The file formats the emulator draws in: the output formats of Stable Diffusion 3."""

MEDIA_TYPES: Final[dict[ImageFormat, str]] = {
    "png": "image/png",
    "webp": "image/webp",
    "jpg": "image/jpeg",
}
"""Each format's ``Content-Type``."""

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_LEVELS: Final = 16  # shades of each band's fade, in the PNG's palette
_ROWS_PER_CHUNK: Final = 64  # rows handed to zlib at once: bounds the memory of a large image


@dataclass(frozen=True, slots=True)
class Picture:
    """How a prediction's images look, besides the prompt: format, size in pixels, and seed."""

    format: ImageFormat = "png"
    width: int = 256
    height: int = 256
    seed: int | None = None


def _digest(prompt: str, index: int, seed: int | None) -> bytes:
    # Without a seed, the key the emulator always used: unseeded images keep their bytes.
    key = f"{index}:{prompt}" if seed is None else f"{index}:{seed}:{prompt}"
    return hashlib.sha256(key.encode()).digest()


@functools.lru_cache(maxsize=128)
def image_bytes(prompt: str, index: int, picture: Picture) -> bytes:
    """The `index`-th image drawn for `prompt`, as `picture` says. Results are cached."""
    digest = _digest(prompt, index, picture.seed)
    if picture.format == "webp":
        return _webp(digest[0:3], picture.width, picture.height)
    if picture.format == "jpg":
        return _jpeg(digest[0:3], picture.width, picture.height)
    return _png(digest, picture.width, picture.height)


# --- PNG -----------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _fade(first: bytes, second: bytes) -> bytes:
    """`_LEVELS` RGB palette entries from `first` to `second`."""
    steps = _LEVELS - 1
    return b"".join(
        bytes(round(a + (b - a) * k / steps) for a, b in zip(first, second, strict=True))
        for k in range(_LEVELS)
    )


def _strip(period: int, length: int, offset: int) -> bytes:
    """Palette indices that fade from `offset` to `offset + _LEVELS - 1` and back every
    `period` pixels."""
    steps = _LEVELS - 1
    return bytes(offset + round(abs((k % period) / period * 2 - 1) * steps) for k in range(length))


def _png(digest: bytes, width: int, height: int) -> bytes:
    period = 16 + digest[12] % max(1, min(width, height) // 2)
    band = 8 + digest[13] % 56
    palette = _fade(digest[0:3], digest[3:6]) + _fade(digest[6:9], digest[9:12])
    strips = (
        _strip(period, width + height, 0),
        _strip(period, width + height, _LEVELS),
    )

    # Row y starts `height - y` pixels into the strip, which slants the bands; every `band` rows
    # the other strip takes over, which stacks them in horizontal stripes.
    def rows(first: int) -> bytes:
        last = min(height, first + _ROWS_PER_CHUNK)
        return b"".join(
            b"\x00" + strips[(y // band) % 2][height - y : height - y + width]
            for y in range(first, last)
        )

    compressor = zlib.compressobj(1)  # fast: the rows repeat, any level shrinks them
    data = b"".join(compressor.compress(rows(first)) for first in range(0, height, _ROWS_PER_CHUNK))
    data += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit palette, no interlace
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", palette)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


# --- WebP ----------------------------------------------------------------------------------------


class _Bits:
    """Bits written least significant first, as VP8L reads them."""

    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def write(self, value: int, bits: int) -> None:
        self.value |= value << self.count
        self.count += bits

    def to_bytes(self) -> bytes:
        return self.value.to_bytes((self.count + 7) // 8, "little")


def _webp(rgb: bytes, width: int, height: int) -> bytes:
    bits = _Bits()
    bits.write(width - 1, 14)
    bits.write(height - 1, 14)
    bits.write(0, 1)  # no alpha in use
    bits.write(0, 3)  # version 0
    bits.write(0, 1)  # no transform
    bits.write(0, 1)  # no colour cache
    bits.write(0, 1)  # one set of prefix codes for the whole image
    # Green, red, blue, alpha and distance: each a "simple" code of one 8-bit symbol.
    red, green, blue = rgb
    for symbol in (green, red, blue, 255, 0):
        bits.write(1, 1)  # simple code
        bits.write(0, 1)  # of one symbol
        bits.write(1, 1)  # written in 8 bits
        bits.write(symbol, 8)
    # The pixels follow: a code of one symbol takes no bit, so there is nothing to write.
    vp8l = b"\x2f" + bits.to_bytes()
    if len(vp8l) % 2:
        vp8l += b"\x00"  # RIFF chunks are padded to an even size
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- JPEG ----------------------------------------------------------------------------------------


def _segment(marker: int, data: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data


def _ycbcr(rgb: bytes) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return _byte(y), _byte(cb), _byte(cr)


def _byte(value: float) -> int:
    return min(255, max(0, round(value)))


# The DC table: category 0 is "0", categories 1 to 11 are "10000" to "11010". The AC table has
# one symbol, end of block, "0". So a block with no change of DC is the two bits "00".
_DC_TABLE: Final = bytes([0x00, 1, 0, 0, 0, 11] + [0] * 11) + bytes(range(12))
_AC_TABLE: Final = bytes([0x10, 1] + [0] * 15) + b"\x00"


def _entropy_data(levels: tuple[int, int, int], blocks: int) -> bytes:
    """The scan: the first block of each component sets its DC, every block then ends at once."""
    value, count = 0, 0
    for level in levels:
        dc = 8 * (level - 128)  # a flat block's DC coefficient, with a quantizer of 1
        category = abs(dc).bit_length()
        if category:
            value = value << 5 | (0b10000 + category - 1)
            value = value << category | (dc if dc > 0 else dc + (1 << category) - 1)
            count += 5 + category
        else:
            value <<= 1
            count += 1
        value <<= 1  # end of block
        count += 1
    # Every other block of every component is "00"; the last byte is padded with ones.
    rest = 6 * (blocks - 1)
    padding = -(count + rest) % 8
    whole = value << (rest + padding) | ((1 << padding) - 1)
    return whole.to_bytes((count + rest + padding) // 8, "big").replace(b"\xff", b"\xff\x00")


def _jpeg(rgb: bytes, width: int, height: int) -> bytes:
    levels = _ycbcr(rgb)
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"".join(
        bytes([component, 0x11, 0]) for component in (1, 2, 3)
    )
    scan = bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])
    return b"".join(
        [
            b"\xff\xd8",  # start of image
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, b"\x00" + b"\x01" * 64),  # one quantization table, all ones
            _segment(0xC0, frame),  # baseline, 4:4:4
            _segment(0xC4, _DC_TABLE + _AC_TABLE),
            _segment(0xDA, scan),
            _entropy_data(levels, blocks),
            b"\xff\xd9",  # end of image
        ]
    )
