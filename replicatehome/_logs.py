"""The ``replicatehome`` logger: off unless ``REPLICATEHOME_LOG=debug|info``, secrets redacted."""

from __future__ import annotations

import logging
import os
import threading

import httpx

__all__ = ["logger", "redact", "setup_from_env"]

logger = logging.getLogger("replicatehome")
_SETUP = threading.Lock()

_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


def redact(headers: httpx.Headers) -> dict[str, str]:
    """The headers as a dict, with any that may hold a secret replaced by ``[redacted]``."""
    return {
        name: "[redacted]" if name.lower() in _SECRET_HEADERS else value
        for name, value in headers.items()
    }


def setup_from_env() -> None:
    """Log to stderr at the level ``REPLICATEHOME_LOG`` names (``debug`` or ``info``), if any.

    Called by every new client; only the first call that finds the variable set adds a handler,
    and none is added to a logger that has one already (yours, say).
    """
    level = {"debug": logging.DEBUG, "info": logging.INFO}.get(
        os.environ.get("REPLICATEHOME_LOG", "").strip().lower()
    )
    if level is None:
        return
    with _SETUP:  # clients made at once on several threads add one handler between them
        if logger.handlers:
            return
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)
