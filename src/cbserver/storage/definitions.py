"""Bucket definitions (name, type, password, quota, ...) in one JSON file, written atomically."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import CorruptStoreError

FORMAT = 1


@dataclass(frozen=True)
class BucketDefinition:
    """What it takes to recreate a bucket after a restart; ``settings`` holds any extra knobs."""

    name: str
    bucket_type: str = "couchbase"
    password: str = ""
    ram_quota_mb: int = 100
    flush_enabled: bool = False
    replica_number: int = 0
    settings: dict = field(default_factory=dict)

    @property
    def persistent(self) -> bool:
        """Return True for bucket types whose documents go to disk (memcached buckets do not)."""
        return self.bucket_type in ("couchbase", "membase")

    @classmethod
    def from_json(cls, data: dict) -> BucketDefinition:
        """Build a definition from its JSON form, ignoring keys written by newer versions."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def load_definitions(path: Path) -> dict[str, BucketDefinition]:
    """Read the definitions file: missing means no buckets, damaged refuses to start."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"expected an object with \"format\": {FORMAT}")
        buckets = [BucketDefinition.from_json(entry) for entry in data["buckets"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptStoreError(path, f"bucket definitions file is damaged or not cbserver's "
                                      f"({exc}); fix or move it away to start") from None
    return {definition.name: definition for definition in buckets}


def save_definitions(path: Path, definitions: dict[str, BucketDefinition]) -> None:
    """Write all definitions atomically: temp file, fsync, rename, fsync of the directory."""
    payload = {"format": FORMAT, "buckets": [asdict(d) for d in definitions.values()]}
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
