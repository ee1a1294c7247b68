"""The input schemas one client has read from the server, kept for ``validate_input=True``."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import ClassVar, TypeAlias

__all__ = ["SchemaCache"]

_Key: TypeAlias = tuple[str, str | None]


class SchemaCache:
    """The OpenAPI schemas one client has read, by model and version (``None``: the latest).

    Bounded by size: `MAX_BYTES` of them in all, counted as the server sent them (1 KiB at
    least each); the least recently used go first, and a larger one is used once and not kept.
    A version's schema never changes; a model's latest version is read once per client, and
    again by ``models.get``. Safe to share between threads.
    """

    MAX_BYTES: ClassVar[int] = 4 * 1024 * 1024
    _MIN_COST: ClassVar[int] = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[_Key, tuple[Mapping[str, object], int]] = {}
        self._bytes = 0

    def get(self, model: str, version: str | None) -> Mapping[str, object] | None:
        """The schema kept for `model` at `version`: ``{}`` if it has none, ``None`` if unknown."""
        with self._lock:
            entry = self._entries.pop((model, version), None)
            if entry is None:
                return None
            self._entries[(model, version)] = entry  # the most recently used, last
            return entry[0]

    def put(
        self, model: str, version: str | None, openapi: Mapping[str, object] | None, size: int
    ) -> None:
        """Keep `openapi`, read in an answer of `size` bytes, for `model` at `version`."""
        cost = max(size, self._MIN_COST)
        with self._lock:
            if (old := self._entries.pop((model, version), None)) is not None:
                self._bytes -= old[1]
            if cost > self.MAX_BYTES:
                return
            while self._bytes + cost > self.MAX_BYTES:
                self._bytes -= self._entries.pop(next(iter(self._entries)))[1]
            self._entries[(model, version)] = (openapi or {}, cost)
            self._bytes += cost
