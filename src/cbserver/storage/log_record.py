"""The layouts of one flusher batch in a commit log record: layout 3 written, older ones read.

Decoded, a batch is flat: ``[key, state, key, state, ...]`` in mutation order, where a
state is the engine's immutable record tuple or, for a delete, the delete's seqno (an
int), without a pair tuple per entry. The server's disk queue (:mod:`.disk_queue`)
encodes each mutation straight into layout 3 as the engine queues it; the flat form is
what :func:`encode_batch` takes and :func:`decode_batch` gives back.

Records are written in layout 3 (:mod:`.batch_codec`: fixed-width binary fields, encoded
and folded in C). Segments written by earlier versions hold ``marshal`` data and are
still read: layout 2, ``(2, seqno, flat entries)``, and the pair layout, ``(seqno,
[(key, state), ...])``; :func:`as_layout3` converts them for the fold. Any other shape
is refused with :class:`RecordLayoutError`.
"""
from __future__ import annotations

import itertools
import marshal
from collections.abc import Iterator
from typing import Any

from .batch_codec import TAG, BatchLayoutError, decode_batch3, encode_batch

__all__ = ["LAYOUT", "MARSHAL_VERSION", "RecordLayoutError", "as_layout3", "decode_batch",
           "encode_batch", "pairs"]

#: Version 2 writes no back-references: no hash-table entry per object, about twice as fast
#: for a message, whose objects are all distinct anyway (the writer's messages use it).
MARSHAL_VERSION = 2
#: The layout this version writes.
LAYOUT = 3
#: Tag of the marshal layout written before layout 3.
_MARSHAL_LAYOUT = 2


class RecordLayoutError(ValueError):
    """A commit log payload passed its checksum but is not a batch this version can read."""


def decode_batch(payload: bytes | memoryview) -> tuple[int, list]:
    """Return ``(seqno, flat entries)`` of a payload of any layout this version reads;
    raises RecordLayoutError for anything else."""
    if bytes(payload[:2]) == TAG:
        try:
            return decode_batch3(payload)
        except BatchLayoutError as exc:
            raise RecordLayoutError(f"malformed batch of layout {LAYOUT} ({exc})") from None
    return _decode_marshal(payload)


def as_layout3(payload: bytes | memoryview) -> bytes | memoryview:
    """Return ``payload`` as layout 3: itself, or an older layout re-encoded (raises
    RecordLayoutError for an unknown one; a malformed layout 3 payload is found by the
    fold, :func:`.batch_codec.coalesce`)."""
    if bytes(payload[:2]) == TAG:
        return payload
    return encode_batch(*_decode_marshal(payload))


def _decode_marshal(payload: bytes | memoryview) -> tuple[int, list]:
    """Decode a payload of layout 2 or of the pair layout."""
    try:
        batch = marshal.loads(payload)
    except (ValueError, EOFError, TypeError) as exc:
        raise RecordLayoutError(f"not a batch of a known layout ({exc})") from None
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
    if layout != _MARSHAL_LAYOUT:
        raise RecordLayoutError(f"unknown batch layout {layout!r} (this version reads the "
                                f"pair layout and layouts {_MARSHAL_LAYOUT} and {LAYOUT})")
    if seqno.__class__ is int and entries.__class__ is list and not len(entries) % 2:
        return seqno, entries
    raise RecordLayoutError(f"malformed batch of layout {_MARSHAL_LAYOUT} (expected a seqno "
                            "and a flat list of keys and states of even length)")


def pairs(entries: list) -> Iterator[tuple[bytes, Any]]:
    """Return the ``(key, state)`` pairs of flat ``entries``, built in C by ``zip``; a
    ``dict`` of them keeps the newest state of each key."""
    items = iter(entries)
    return zip(items, items)


def _all_pairs(legacy: list) -> bool:
    """Return True if every entry of a pair-layout batch is a ``(key, state)`` tuple."""
    return all(entry.__class__ is tuple and len(entry) == 2 for entry in legacy)
