"""``replicatehome demo``: the SDK's main job, end to end, against the built-in emulator.

Read this file to learn the API: everything below the emulator line is what you would write
against the real service.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.table import Table

from .. import Client
from ..catalog import DEFAULT_TEXT_MODEL
from ..emulator import Emulator
from ._progress import Progress

__all__ = ["run_demo"]

TEXT_PROMPT = "Write a haiku about the sea"
IMAGE_MODEL: Final = "sdxl"  # it makes PNGs, as the saved file's name says; the default makes WebP
IMAGE_PROMPT = "A dog floating in space, digital art"


def run_demo(output_dir: str | None, duration: float = 1.5) -> int:
    """Stream a text generation, make an image with a progress line, and print a summary.

    Each emulated prediction starts for a fifth of `duration` seconds, then runs for `duration`.
    """
    console = Console(highlight=False)
    folder = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="replicatehome-"))
    folder.mkdir(parents=True, exist_ok=True)

    console.print("[dim]Starting the emulator on 127.0.0.1 (no network needed)...[/]")
    emulator = Emulator(duration=duration, starting=duration / 5)
    with emulator, Client(base_url=emulator.url) as client:
        # 1. Text, streamed token by token as the polls show it.
        console.rule(f"[bold]Text[/] · {DEFAULT_TEXT_MODEL} · {TEXT_PROMPT!r}")
        started = time.monotonic()
        text = client.predictions.create(DEFAULT_TEXT_MODEL, input={"prompt": TEXT_PROMPT})
        first_token: float | None = None
        for chunk in text.stream():
            first_token = first_token or time.monotonic() - started
            console.out(chunk, end="")
        console.out("")
        text_seconds = time.monotonic() - started

        # 2. An image, with a live status line while it renders, saved to disk.
        console.rule(f"[bold]Image[/] · {IMAGE_MODEL} · {IMAGE_PROMPT!r}")
        started = time.monotonic()
        image_prediction = client.predictions.create(IMAGE_MODEL, input={"prompt": IMAGE_PROMPT})
        with Progress("Rendering") as progress:
            image = image_prediction.wait(on_update=progress.update)
        path = image.save(folder / f"{image_prediction.id}.png")
        image_seconds = time.monotonic() - started
        console.print(f"Saved [bold]{path}[/] ({path.stat().st_size:,} bytes) from {image.url}")

    # 3. What happened.
    console.rule("[bold]Summary[/]")
    summary = Table.grid(padding=(0, 2))
    summary.add_row(
        "text",
        f"{text.model} · {text.id} · {text.status.value}",
    )
    summary.add_row(
        "", f"first token after {first_token or 0:.2f}s · done after {text_seconds:.2f}s"
    )
    summary.add_row(
        "image",
        f"{image_prediction.model} · {image_prediction.id} · {image_prediction.status.value}",
    )
    summary.add_row("", f"done after {image_seconds:.2f}s · {progress.polls} polls")
    console.print(summary)
    return 0
