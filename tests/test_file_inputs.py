"""Files in a prediction's input: found, read once within a cap, then sent."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from replicatehome._file_inputs import InputFile, fill, read_files

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


# --- read_files and fill, as plain values --------------------------------------------------


def test_names_are_cut_to_the_apis_limit_keeping_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / ("é" * 120 + ".png")  # 244 bytes of UTF-8: under the limit
    path.write_bytes(PNG)
    long_name = io.BytesIO(PNG)
    long_name.name = "x" * 300 + ".tar.gz"

    _, files = read_files({"a": path, "b": long_name}, upload=True)

    assert files[0].filename == path.name
    assert files[0].content_type == "image/png"
    assert files[1].filename == "x" * 248 + ".tar.gz"
    assert files[1].content_type == "application/octet-stream"  # gzip, not a tar


def test_an_input_without_files_is_passed_on_as_given() -> None:
    nested = {"b": [1, "two", (3,)]}

    read, files = read_files({"a": "cat.png", "nested": nested}, upload=True)

    assert files == []
    assert read["nested"] is nested


def test_an_input_that_contains_itself_is_refused() -> None:
    loop: list[object] = [b"x"]
    loop.append(loop)

    with pytest.raises(ValueError, match=r"input\['a'\]\[1\] contains itself"):
        read_files({"a": loop}, upload=False)


def test_files_read_once_are_filled_in_by_identity() -> None:
    read, files = read_files({"a": [b"same", b"same"]}, upload=False)

    assert files[0] is not files[1]
    assert all(isinstance(file, InputFile) for file in files)
    names = {files[0]: "first", files[1]: "second"}
    assert fill(read, names.__getitem__) == {"a": ["first", "second"]}
