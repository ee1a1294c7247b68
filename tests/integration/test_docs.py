"""The documentation's Python examples run, as written, against the emulator."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from replicatehome.catalog import MODELS, ModelSpec
from replicatehome.emulator import Emulator

DOCS = Path(__file__).parent.parent.parent / "docs"
README = Path(__file__).parent.parent.parent / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def examples(*paths: Path) -> list[object]:
    """Every ``python`` block in `paths`, as a pytest param named like ``usage.md#3``."""
    found: list[object] = []
    for path in paths:
        for number, match in enumerate(BLOCK.finditer(path.read_text()), start=1):
            where = f"{path.name}#{number}"
            found.append(pytest.param(where, match.group(1), id=where))
    return found


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    # docs/official-api.md runs a model outside the catalog, as the official API allows.
    models = (*MODELS, ModelSpec("meta/meta-llama-3-8b-instruct", None, "text"))
    with Emulator(duration=0, starting=0, models=models) as emu:
        yield emu


@pytest.mark.parametrize(
    ("where", "code"),
    examples(README, *sorted(DOCS.glob("*.md"))),
)
def test_example_runs(
    where: str,
    code: str,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPLICATEHOME_BASE_URL", emulator.url)
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    namespace: dict[str, object] = {"__name__": f"example_{where}"}

    exec(compile(code, where, "exec"), namespace)

    # Examples written as tests (docs/emulator.md) are run too.
    for name, function in list(namespace.items()):
        if name.startswith("test_") and callable(function):
            if inspect.signature(function).parameters:
                continue  # needs pytest fixtures: shown for reading
            result = function()
            if inspect.iscoroutine(result):
                asyncio.run(result)
    capsys.readouterr()
