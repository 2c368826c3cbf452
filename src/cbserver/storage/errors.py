"""Typed errors of the storage layer, each naming the file and the cause."""
from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """Base class for persistence failures; ``path`` names the file involved."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = Path(path)
        self.reason = message


class CorruptStoreError(StorageError):
    """A database or definitions file is damaged or not ours; the server refuses to start."""


class DataDirLockedError(StorageError):
    """Another cbserver process holds the data directory."""
