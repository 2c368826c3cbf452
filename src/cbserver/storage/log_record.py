"""The layout of one flusher batch, as shipped to the writer and kept in a commit log record.

A batch is flat: ``[key, state, key, state, ...]`` in mutation order, where a state is the
engine's immutable record tuple or, for a delete, the delete's seqno (an int). Flat, so
that the event loop queues a mutation with two ``list.append`` calls and allocates no
tuple of its own: a pair tuple per write would outlive the write in the queue and keep
the cyclic GC's young generation filling up (the engine frees the replaced record, so a
flat queue leaves the GC's allocation count where it was). The log record's payload is
the ``marshal``'d ``(LAYOUT, seqno, entries)``. Segments written before the flat layout
hold ``(seqno, [(key, state), ...])`` and are still read (converted to flat); any other
shape is refused.
"""
from __future__ import annotations

import itertools
import marshal
from collections.abc import Iterator
from typing import Any

#: Version 2 writes no back-references: no hash-table entry per object, about twice as fast
#: for a batch, whose objects are all distinct anyway.
MARSHAL_VERSION = 2
#: Tag of the flat layout, first in every record payload written by this version.
LAYOUT = 2


class RecordLayoutError(ValueError):
    """A commit log payload passed its checksum but is not a batch this version can read."""


def encode_batch(seqno: int, entries: list) -> bytes:
    """Return the payload of one batch (``entries`` flat, in mutation order)."""
    return marshal.dumps((LAYOUT, seqno, entries), MARSHAL_VERSION)


def decode_batch(payload: bytes | memoryview) -> tuple[int, list]:
    """Return ``(seqno, flat entries)`` of a payload of this or the pair layout; raises
    RecordLayoutError for anything else."""
    try:
        batch = marshal.loads(payload)
    except (ValueError, EOFError, TypeError) as exc:
        raise RecordLayoutError(f"not a marshalled batch ({exc})") from None
    if batch.__class__ is not tuple or len(batch) not in (2, 3):
        raise RecordLayoutError(f"unknown batch layout (a {type(batch).__name__}, not a tuple "
                                f"of 2 or 3 items; this version writes layout {LAYOUT})")
    if len(batch) == 2:
        seqno, legacy = batch
        if seqno.__class__ is int and legacy.__class__ is list and _all_pairs(legacy):
            return seqno, list(itertools.chain.from_iterable(legacy))
        raise RecordLayoutError("malformed batch of the pair layout (expected a seqno and a "
                                "list of (key, state) pairs)")
    layout, seqno, entries = batch
    if layout != LAYOUT:
        raise RecordLayoutError(f"unknown batch layout {layout!r} (this version reads the "
                                f"pair layout and layout {LAYOUT})")
    if seqno.__class__ is int and entries.__class__ is list and not len(entries) % 2:
        return seqno, entries
    raise RecordLayoutError(f"malformed batch of layout {LAYOUT} (expected a seqno and a "
                            "flat list of keys and states of even length)")


def pairs(entries: list) -> Iterator[tuple[bytes, Any]]:
    """Return the ``(key, state)`` pairs of flat ``entries``, built in C by ``zip``; a
    ``dict`` of them keeps the newest state of each key."""
    items = iter(entries)
    return zip(items, items)


def _all_pairs(legacy: list) -> bool:
    """Return True if every entry of a pair-layout batch is a ``(key, state)`` tuple."""
    return all(entry.__class__ is tuple and len(entry) == 2 for entry in legacy)
