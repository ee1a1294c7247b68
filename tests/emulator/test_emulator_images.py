"""The emulator's images: valid PNG, WebP and JPEG files of the asked size, cheap, deterministic.

The files are read back here with the standard library only, the way a decoder walks them:
chunks and CRCs, the VP8L header and prefix codes, the JPEG markers and the scan's length.
"""

from __future__ import annotations

import re
import struct
import time
import zlib

import pytest

from replicatehome.emulator._images import ImageFormat, Picture, image_bytes

SIZES = [(1, 1), (7, 9), (64, 64), (1024, 1024), (1536, 640)]


def read_png(data: bytes) -> tuple[int, int, bytes]:
    """Check a PNG's structure and CRCs; return its width, height and decompressed rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        offset += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour) == (8, 3)  # one palette index a pixel
    palette = chunks[1][1]
    rows = zlib.decompress(chunks[2][1])
    assert len(rows) == height * (1 + width)
    assert rows[:: 1 + width] == b"\x00" * height  # every row uses filter 0
    assert max(rows) < len(palette) // 3  # the filter bytes are 0: the largest is a pixel's
    return width, height, rows


class Bits:
    """Reads bits least significant first, as a VP8L decoder does."""

    def __init__(self, data: bytes) -> None:
        self.value, self.position = int.from_bytes(data, "little"), 0

    def read(self, bits: int) -> int:
        value = (self.value >> self.position) & ((1 << bits) - 1)
        self.position += bits
        return value


def read_webp(data: bytes) -> tuple[int, int, tuple[int, int, int, int]]:
    """Check a lossless WebP of one colour; return its width, height and RGBA colour."""
    assert data[:4] == b"RIFF"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    assert data[8:16] == b"WEBPVP8L"
    (size,) = struct.unpack("<I", data[16:20])
    assert len(data) == 20 + size + size % 2
    assert data[20] == 0x2F
    bits = Bits(data[21 : 20 + size])
    width, height = bits.read(14) + 1, bits.read(14) + 1
    assert bits.read(1) == 0  # alpha unused
    assert bits.read(3) == 0  # version
    assert bits.read(1) == 0  # no transform
    assert bits.read(1) == 0  # no colour cache
    assert bits.read(1) == 0  # no meta prefix codes
    symbols = []
    for _ in range(5):  # green, red, blue, alpha, distance
        assert bits.read(1) == 1  # a simple code...
        assert bits.read(1) == 0  # ...of one symbol
        symbols.append(bits.read(8) if bits.read(1) else bits.read(1))
    # One symbol per code: the pixels take no bits, so the data ends in the last byte.
    assert bits.position <= 8 * (size - 1)
    green, red, blue, alpha, _ = symbols
    return width, height, (red, green, blue, alpha)


def read_jpeg(data: bytes) -> tuple[int, int, bytes]:
    """Check a baseline JPEG's markers; return its width, height and unstuffed scan."""
    assert data[:2] == b"\xff\xd8"
    assert data[-2:] == b"\xff\xd9"
    offset, markers, frame = 2, [], b""
    while True:
        assert data[offset] == 0xFF
        marker = data[offset + 1]
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        markers.append(marker)
        if marker == 0xC0:
            frame = data[offset + 4 : offset + 2 + length]
        offset += 2 + length
        if marker == 0xDA:
            break
    assert markers == [0xE0, 0xDB, 0xC0, 0xC4, 0xDA]
    precision, height, width, components = struct.unpack(">BHHB", frame[:6])
    assert (precision, components) == (8, 3)
    scan = data[offset:-2]
    assert re.search(rb"\xff[^\x00]", scan) is None  # every 0xFF of the scan is stuffed
    return width, height, scan.replace(b"\xff\x00", b"\xff")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_png_is_valid_and_of_the_asked_size(width: int, height: int) -> None:
    assert read_png(image_bytes("a red fox", 0, Picture("png", width, height)))[:2] == (
        width,
        height,
    )


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_webp_is_valid_and_of_the_asked_size(width: int, height: int) -> None:
    data = image_bytes("a red fox", 0, Picture("webp", width, height))
    assert read_webp(data)[:2] == (width, height)
    assert len(data) < 64  # whatever the size


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_jpeg_is_valid_and_of_the_asked_size(width: int, height: int) -> None:
    read_width, read_height, scan = read_jpeg(
        image_bytes("a fox", 0, Picture("jpg", width, height))
    )
    assert (read_width, read_height) == (width, height)
    blocks = -(-width // 8) * -(-height // 8)
    # Two bits a block and component after the first, which also carry the colour.
    assert 6 * (blocks - 1) < 8 * len(scan) <= 6 * (blocks - 1) + 3 * 18 + 7


@pytest.mark.parametrize("image_format", ["png", "webp", "jpg"])
def test_images_are_deterministic_and_depend_on_prompt_index_and_seed(
    image_format: ImageFormat,
) -> None:
    picture = Picture(image_format, 32, 32)
    first = image_bytes("a red fox", 0, picture)
    image_bytes.cache_clear()
    assert image_bytes("a red fox", 0, picture) == first
    assert image_bytes("a blue fox", 0, picture) != first
    assert image_bytes("a red fox", 1, picture) != first
    seeded = Picture(image_format, 32, 32, seed=7)
    assert image_bytes("a red fox", 0, seeded) != first
    image_bytes.cache_clear()
    assert image_bytes("a red fox", 0, seeded) == image_bytes("a red fox", 0, seeded)
    assert image_bytes("a red fox", 0, Picture(image_format, 32, 32, seed=8)) != image_bytes(
        "a red fox", 0, seeded
    )


def test_a_webp_has_one_opaque_colour_from_the_prompt() -> None:
    colours = {read_webp(image_bytes(f"fox {n}", 0, Picture("webp", 8, 8)))[2] for n in range(8)}
    assert len(colours) > 1
    assert {alpha for *_, alpha in colours} == {255}


def test_the_largest_png_stays_cheap() -> None:
    # Playground's largest, 1536 x 1536: small to send and quick to make, on a shared machine.
    image_bytes.cache_clear()
    began = time.process_time()
    data = image_bytes("a red fox", 0, Picture("png", 1536, 1536))
    assert time.process_time() - began < 1.0
    assert len(data) < 64 * 1024
