"""The constants applications import from ``couchbase``: formats, observe states and
lock modes (OBS_LOGICALLY_DELETED stays internal, as in 1.0)."""
from ._libcouchbase import (FMT_BYTES, FMT_JSON, FMT_MASK, FMT_PICKLE, FMT_UTF8,
                            LOCKMODE_EXC, LOCKMODE_NONE, LOCKMODE_WAIT, OBS_FOUND, OBS_MASK,
                            OBS_NOTFOUND, OBS_PERSISTED)

__all__ = [
    "FMT_JSON", "FMT_PICKLE", "FMT_BYTES", "FMT_UTF8", "FMT_MASK",
    "OBS_FOUND", "OBS_PERSISTED", "OBS_NOTFOUND", "OBS_MASK",
    "LOCKMODE_NONE", "LOCKMODE_EXC", "LOCKMODE_WAIT",
]
