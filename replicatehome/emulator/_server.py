"""Running the emulator: in a background thread for tests, or in the foreground for the CLI."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Self, Unpack

from ._config import ConfigOptions, EmulatorConfig
from ._faults import Faults
from ._stats import EmulatorStats

if TYPE_CHECKING:
    import uvicorn

    from ._app import EmulatorApp

__all__ = ["Emulator", "serve"]

_HOST = "127.0.0.1"
_START_TIMEOUT = 10.0


class Emulator:
    """A local emulator server on ``127.0.0.1``, run by uvicorn in a background daemon thread.

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
            log_level: Uvicorn's log level. Logs go to the standard ``logging`` tree.
            **options: `EmulatorConfig` fields, e.g. ``duration=0.05``.
        """
        if config is not None and options:
            raise TypeError("pass either an EmulatorConfig or keyword options, not both")
        from ._app import EmulatorApp  # Starlette is imported only when an emulator is made.

        self.app: EmulatorApp = EmulatorApp(config or EmulatorConfig(**options))
        self._port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
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
        import uvicorn

        # Binding here, not in uvicorn, lets us read the port back before the thread starts.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, self._port))
        except OSError:
            sock.close()
            raise
        config = uvicorn.Config(
            self.app,
            log_config=None,  # leave the host application's logging setup alone
            log_level=self._log_level,
            lifespan="off",
            timeout_graceful_shutdown=1,  # in-flight requests get this long
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name="replicatehome-emulator",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(_START_TIMEOUT)
                sock.close()
                raise RuntimeError("the emulator server failed to start")
            time.sleep(0.001)
        self._server, self._thread = server, thread
        self._url = f"http://{_HOST}:{sock.getsockname()[1]}"
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread. Does nothing if not running."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join()
        self._server = self._thread = self._url = None

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
    import uvicorn

    from ._app import EmulatorApp

    uvicorn.run(EmulatorApp(config), host=host, port=port, log_level=log_level, lifespan="off")
