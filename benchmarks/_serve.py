"""`replicatehome serve` in a process of its own, and how to read its access log.

Shared by ``bench.py`` and ``soak.py``, which run as scripts from this folder.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final

__all__ = ["ACCESS", "CREATE_PATH", "free_port", "serving"]

# Lines of Hypercorn's access log: `... "POST /api/prediction 1.1" 201 650 "-" "ua"`.
ACCESS: Final = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}|-) ')
CREATE_PATH: Final = re.compile(
    r"^/(api/prediction|v1/predictions|v1/models/[^/]+/[^/]+/predictions)$"
)
"""The path of a create, on either protocol."""

_LISTEN_WITHIN: Final = 30.0
"""Seconds the server has to start listening."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process could take it before we bind it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(
    port: int,
    flags: Sequence[str],
    out: Path,
    *,
    err: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[int]:
    """`replicatehome serve --port PORT FLAGS` from this interpreter, for the block; its pid.

    Its stdout goes to `out`, its stderr to `err`, or to `out` too without one. It is stopped
    with Ctrl-C (SIGINT), a graceful stop that flushes the log, or killed after 15 s.
    """
    command = [sys.executable, "-m", "replicatehome", "serve", "--port", str(port), *flags]
    with ExitStack() as files:
        stdout = files.enter_context(out.open("wb"))
        stderr = files.enter_context(err.open("wb")) if err else subprocess.STDOUT
        process = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env
        )
    try:
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"serve exited with {process.returncode}: {(err or out).read_text()}"
                )
            if time.monotonic() - started > _LISTEN_WITHIN:
                raise RuntimeError(f"serve did not listen on port {port} in {_LISTEN_WITHIN:g} s")
            try:
                # A bare connect: any request could be answered by a fault.
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
