"""Files uploaded to ``POST /v1/files``: kept in memory, bounded in count, bytes and time. No I/O.

A file expires `FILE_TTL` seconds after it was uploaded (its ``expires_at``), and is gone then,
as after a delete. Storing one more past `MAX_FILES` files or `MAX_STORED_BYTES` evicts the
oldest first. Ids are derived from a counter, like predictions'.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ._state import Clock

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["FILE_TTL", "MAX_FILES", "MAX_STORED_BYTES", "StoredFile", "UploadStore"]

FILE_TTL: Final = 3600.0
"""Seconds a file is kept after its upload, as in the API reference's example."""

MAX_FILES: Final = 1000
"""How many files are kept at most."""

MAX_STORED_BYTES: Final = 256 * 1024 * 1024
"""How many bytes of files are kept at most (or one file, if it is larger on its own)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One uploaded file. `created` is a clock reading; `seq` numbers files in upload order."""

    id: str
    seq: int
    content: bytes
    content_type: str
    filename: str
    metadata: JsonValue
    created: float
    sha256: str


class UploadStore:
    """Keeps uploaded files, thread-safely, within a time, a count and a size limit."""

    def __init__(self, *, clock: Clock) -> None:
        """Create an empty store on `clock`, the predictions' clock."""
        self.clock = clock
        self._lock = threading.Lock()
        self._created = 0
        self._bytes = 0
        self._files: OrderedDict[str, StoredFile] = OrderedDict()  # oldest first

    def add(
        self, content: bytes, *, content_type: str, filename: str, metadata: JsonValue
    ) -> StoredFile:
        """Store a new file, making room for it first."""
        with self._lock:
            self._expire(self.clock())
            while self._files and (
                len(self._files) >= MAX_FILES or self._bytes + len(content) > MAX_STORED_BYTES
            ):
                self._drop(next(iter(self._files)))
            seq = self._created
            self._created += 1
            digest = hashlib.sha256(f"file:{seq}".encode()).digest()
            file_id = base64.b32encode(digest).decode()[:26].lower()
            stored = StoredFile(
                file_id,
                seq,
                content,
                content_type,
                filename,
                metadata,
                self.clock(),
                hashlib.sha256(content).hexdigest(),
            )
            self._files[file_id] = stored
            self._bytes += len(content)
            return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this id, or ``None`` if there is none, or no longer."""
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None or self.clock() < stored.created + FILE_TTL:
                return stored
            self._drop(file_id)
            return None

    def delete(self, file_id: str) -> bool:
        """Delete a file; ``False`` if there was none (or it had expired)."""
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None:
                return False
            self._drop(file_id)
            return self.clock() < stored.created + FILE_TTL

    def clear(self) -> None:
        """Forget every file. Ids go on from the counter, as after deletes."""
        with self._lock:
            self._files.clear()
            self._bytes = 0

    def newest_first(self) -> list[StoredFile]:
        """Every live file, the newest first: a copy, for listing."""
        with self._lock:
            self._expire(self.clock())
            return list(reversed(self._files.values()))

    def _expire(self, now: float) -> None:
        """Drop the files that have expired. Under the lock."""
        # Every file lives as long, so the oldest expire first.
        while self._files:
            oldest = next(iter(self._files.values()))
            if now < oldest.created + FILE_TTL:
                break
            self._drop(oldest.id)

    def _drop(self, file_id: str) -> None:
        self._bytes -= len(self._files.pop(file_id).content)
