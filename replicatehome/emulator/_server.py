"""Running the emulator: in a background thread for tests, or in the foreground for the CLI.

The ASGI server is Hypercorn. Uvicorn would pull in click, and httpx imports its own command
line (click, rich and pygments) whenever all three are installed, which made ``import httpx``,
and so ``import replicatehome``, 0.2 s slower for everyone with both extras.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Self, Unpack, cast

from ._app import EmulatorApp, EmulatorStats
from ._config import ConfigOptions, EmulatorConfig
from ._faults import Faults

if TYPE_CHECKING:
    from hypercorn.config import Config
    from hypercorn.typing import Framework

__all__ = ["Emulator", "serve"]

_HOST = "127.0.0.1"
_STOP_TIMEOUT = 10.0


def _asgi(app: EmulatorApp) -> Framework:
    # Starlette and Hypercorn type the same ASGI interface differently.
    return cast("Framework", app)


def _hypercorn_config(sock: socket.socket | None, host: str, port: int, log_level: str) -> Config:
    from hypercorn.config import Config

    config = Config()
    # A socket we bound ourselves (port 0) is handed over by descriptor, so its port is known.
    config.bind = [f"fd://{sock.detach()}"] if sock is not None else [f"{host}:{port}"]
    config.loglevel = log_level.upper()
    config.graceful_timeout = 1.0  # in-flight requests get this long on stop
    config.include_server_header = False
    return config


class Emulator:
    """A local emulator server on ``127.0.0.1``, run by Hypercorn in a background daemon thread.

    Use it as a context manager, sync or async::

        with Emulator(duration=0.05) as emu:
            client = Client(base_url=emu.url)

        async with Emulator(duration=0.05) as emu:
            client = AsyncClient(base_url=emu.url)

    or call `start` and `stop`. Its state (faults, counters, predictions) lives as long as the
    object, across restarts.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        /,
        *,
        port: int = 0,
        log_level: str = "warning",
        **options: Unpack[ConfigOptions],
    ) -> None:
        """Configure the emulator; nothing runs until `start`.

        Args:
            config: A whole configuration. Give either this or `options`, not both.
            port: The port to listen on; 0 picks a free one (read it back from `url`).
            log_level: The server's log level (its loggers are ``hypercorn.*``).
            **options: `EmulatorConfig` fields, e.g. ``duration=0.05``.
        """
        if config is not None and options:
            raise TypeError("pass either an EmulatorConfig or keyword options, not both")
        self.app = EmulatorApp(config or EmulatorConfig(**options))
        self._port = port
        self._log_level = log_level
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def config(self) -> EmulatorConfig:
        """The configuration the emulator was made with."""
        return self.app.config

    @property
    def stats(self) -> EmulatorStats:
        """The request counters."""
        return self.app.stats

    @property
    def faults(self) -> Faults:
        """The faults in force. Assign new `Faults` at any time, even while running."""
        return self.app.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self.app.faults = faults

    def reset(self) -> None:
        """Start afresh without restarting: see `EmulatorApp.reset`. Running or not."""
        self.app.reset()

    @property
    def url(self) -> str:
        """The base URL, like ``http://127.0.0.1:54321``. Raises `RuntimeError` if not running."""
        if self._url is None:
            raise RuntimeError("the emulator is not running: call start() or use 'with'")
        return self._url

    @property
    def running(self) -> bool:
        """Whether the server is running."""
        return self._thread is not None

    def start(self) -> Self:
        """Start serving, and return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        from hypercorn.asyncio import serve as hypercorn_serve

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((_HOST, self._port))
            sock.listen(128)  # connections queue from now on, before the thread runs
        except OSError:
            sock.close()
            raise
        port = sock.getsockname()[1]
        config = _hypercorn_config(sock, _HOST, port, self._log_level)
        loop = asyncio.new_event_loop()
        stopping = asyncio.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(
                    hypercorn_serve(
                        _asgi(self.app), config, shutdown_trigger=stopping.wait, mode="asgi"
                    )
                )
            finally:
                loop.close()

        self.app.draining = False  # a restart serves long requests again
        thread = threading.Thread(target=run, name="replicatehome-emulator", daemon=True)
        thread.start()
        self._loop, self._stopping, self._thread = loop, stopping, thread
        self._url = f"http://{_HOST}:{port}"
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread. Does nothing if not running."""
        if self._thread is None or self._loop is None or self._stopping is None:
            return
        # Event streams and `Prefer: wait` holds end at once, rather than at the graceful timeout.
        self.app.draining = True
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(_STOP_TIMEOUT)
        self._loop = self._stopping = self._thread = self._url = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        # Starting and stopping wait on another thread: do it off the event loop.
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        where = self._url or "not running"
        return f"<Emulator {where}>"


def serve(
    config: EmulatorConfig | None = None,
    *,
    host: str = _HOST,
    port: int = 8000,
    log_level: str = "info",
) -> None:
    """Run the emulator in the foreground until Ctrl-C, logging one line per request."""
    from hypercorn.asyncio import serve as hypercorn_serve

    server_config = _hypercorn_config(None, host, port, log_level)
    if logging.getLevelName(log_level.upper()) <= logging.INFO:
        server_config.accesslog = "-"
    # asyncio.run turns Ctrl-C into a clean, graceful shutdown.
    asyncio.run(hypercorn_serve(_asgi(EmulatorApp(config)), server_config, mode="asgi"))
