"""Layout 3 of a commit log batch: a flat binary encoding, its Python reference and the C one.

A batch is flat, ``[key, state, key, state, ...]`` in mutation order (see
:mod:`.log_record`): a state is the engine's 7-tuple record ``(value, flags, cas,
datatype, seqno, expiry, lock_expiry)`` or, for a delete, the delete's seqno (an int).
Layout 3 lays it out with fixed-width little-endian fields, so that the C codec
(:mod:`cbserver.storage._batch_codec`) writes a batch with one size pass and one copy
pass and folds payloads into SQLite rows without making a Python object per entry:

* header, 14 bytes: the tag ``cb 03`` (marshal data never starts with 0xcb, so payloads
  of the marshal layouts stay distinguishable), u64 batch seqno, u32 count (mutations);
* then ``count`` entries, each one of
    * a write, a 32-byte head then the key then the value: u8 kind 0, u16 key length,
      u32 value length, u32 flags, u64 cas, u8 datatype, u64 seqno, u32 expiry (Unix
      seconds, 0 = never);
    * a delete, an 11-byte head then the key: u8 kind 1, u16 key length, u64 seqno.

``lock_expiry`` is not kept: a lock does not survive a restart. Keys are 1..65535 bytes
and values at most 2**32-1, both exactly ``bytes``; every int field is exactly ``int``
(no bool) within its width. :func:`encode_batch` refuses anything else with a TypeError
(wrong type) or ValueError (out of range) naming the entry index and the field;
:func:`decode_batch3` and :func:`coalesce` refuse a malformed payload with
:class:`BatchLayoutError` naming the byte offset, never reading past the buffer.

:func:`coalesce` is the fold: the newest state per key over many payloads, returned as
rows ready for :meth:`.store.BucketStore.commit`. The ``*_python`` functions are the
reference; the module-level names are the C functions unless the extension is missing
or ``CBSERVER_PURE_PYTHON`` is set. The C module raises this module's BatchLayoutError
and returns its :class:`Folded`: :func:`load_c` hands both to it with ``configure``.
"""
from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from types import ModuleType
from typing import Any, NamedTuple

from ..pure_python import pure_python_requested

log = logging.getLogger(__name__)

#: The first two bytes of every layout 3 payload.
TAG = b"\xcb\x03"
U8_MAX = 2**8 - 1
U16_MAX = 2**16 - 1
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1
WRITE = 0
DELETE = 1
_HEADER = struct.Struct("<2sQI")
_WRITE_HEAD = struct.Struct("<BHIIQBQI")
_DELETE_HEAD = struct.Struct("<BHQ")
#: The range-checked int fields of a record, by position in the record tuple.
_INT_FIELDS = (("flags", 1, U32_MAX), ("cas", 2, U64_MAX), ("datatype", 3, U8_MAX),
               ("seqno", 4, U64_MAX), ("expiry", 5, U32_MAX))


class BatchLayoutError(ValueError):
    """A payload is not a well-formed layout 3 batch (the message names the byte offset)."""


class Folded(NamedTuple):
    """The newest state per key of some payloads, as SQLite rows (see :func:`coalesce`)."""

    upserts: list
    deletes: list
    max_cas: int
    seqno: int
    entries: int


def encode_batch_python(seqno: int, entries: list) -> bytes:
    """Return the layout 3 payload of batch ``seqno`` with flat ``entries``."""
    _check_int("the batch seqno", seqno, U64_MAX, "encode_batch: ")
    if entries.__class__ is not list:
        raise TypeError(f"encode_batch: entries must be a list, not {type(entries).__name__}")
    if len(entries) % 2:
        raise ValueError(f"encode_batch: entries must hold key, state pairs (odd length "
                         f"{len(entries)})")
    count = len(entries) // 2
    if count > U32_MAX:
        raise ValueError(f"encode_batch: {count} entries, at most {U32_MAX} allowed")
    parts = [_HEADER.pack(TAG, seqno, count)]
    pack_write = _WRITE_HEAD.pack
    pack_delete = _DELETE_HEAD.pack
    items = iter(entries)
    try:
        for key, state in zip(items, items):
            if key.__class__ is not bytes or not key:
                raise _Refused
            if state.__class__ is int:
                parts += (pack_delete(DELETE, len(key), state), key)
                continue
            if state.__class__ is not tuple:
                raise _Refused
            value, flags, cas, datatype, row_seqno, expiry, _ = state
            if not (value.__class__ is bytes and flags.__class__ is cas.__class__
                    is datatype.__class__ is row_seqno.__class__ is expiry.__class__ is int):
                raise _Refused
            parts += (pack_write(WRITE, len(key), len(value), flags, cas, datatype, row_seqno,
                                 expiry), key, value)
    except (_Refused, struct.error, ValueError):
        # Something is wrong: find the first bad entry and say what, field by field.
        for index in range(count):
            _check_entry(index, entries[2 * index], entries[2 * index + 1])
        raise
    return b"".join(parts)


def encode_entry_python(key: bytes, state: Any, where: str) -> bytes:
    """Return one layout 3 entry: ``key`` and its state (a record, or a delete's seqno).
    Refuses what :func:`encode_batch_python` refuses, the message prefixed by ``where``."""
    _check_entry_at(where, key, state)
    if state.__class__ is int:
        return _DELETE_HEAD.pack(DELETE, len(key), state) + key
    value, flags, cas, datatype, seqno, expiry, _ = state
    return (_WRITE_HEAD.pack(WRITE, len(key), len(value), flags, cas, datatype, seqno, expiry)
            + key + value)


def entry_seqno(entry: bytes) -> int:
    """Return the seqno of an entry made by :func:`encode_entry_python`."""
    if entry[0] == WRITE:
        return _WRITE_HEAD.unpack_from(entry)[6]
    return _DELETE_HEAD.unpack_from(entry)[2]


def batch_payload(seqno: int, entries: list[bytes]) -> bytes:
    """Return the layout 3 payload of batch ``seqno`` holding the ``entries`` made by
    :func:`encode_entry_python`."""
    return _HEADER.pack(TAG, seqno, len(entries)) + b"".join(entries)


def merge_batches(payloads: list[bytes]) -> tuple[bytes, int, int]:
    """Return ``(payload, count, seqno)`` of one batch holding the entries of the layout 3
    ``payloads`` in order, with their highest seqno (a batch put back after a failed
    append, followed by what was queued since)."""
    headers = [_read_header(payload) for payload in payloads]
    seqno = max(batch_seqno for batch_seqno, _ in headers)
    count = sum(batch_count for _, batch_count in headers)
    if count > U32_MAX:
        raise ValueError(f"merge_batches: {count} entries, at most {U32_MAX} allowed")
    body = b"".join(memoryview(payload)[_HEADER.size:] for payload in payloads)
    return _HEADER.pack(TAG, seqno, count) + body, count, seqno


def decode_batch3_python(payload: Any) -> tuple[int, list]:
    """Return ``(seqno, flat entries)`` of a layout 3 payload (any bytes-like object);
    records come back with lock_expiry 0.0. Raises BatchLayoutError."""
    data = _as_bytes(payload)
    seqno, count = _read_header(data)
    entries: list = []
    offset = _HEADER.size
    size = len(data)
    unpack_write, write_head = _WRITE_HEAD.unpack_from, _WRITE_HEAD.size
    unpack_delete, delete_head = _DELETE_HEAD.unpack_from, _DELETE_HEAD.size
    try:
        for _ in range(count):
            kind = data[offset]
            if kind == WRITE:
                _, key_len, value_len, flags, cas, datatype, row_seqno, expiry = unpack_write(
                    data, offset)
                key_at = offset + write_head
                key_end = key_at + key_len
                offset = key_end + value_len
                if not key_len or offset > size:
                    raise _Damaged
                entries += (data[key_at:key_end], (data[key_end:offset], flags, cas, datatype,
                                                   row_seqno, expiry, 0.0))
            elif kind == DELETE:
                _, key_len, row_seqno = unpack_delete(data, offset)
                key_at = offset + delete_head
                offset = key_at + key_len
                if not key_len or offset > size:
                    raise _Damaged
                entries += (data[key_at:offset], row_seqno)
            else:
                raise _Damaged
        if offset != size:
            raise _Damaged
    except (_Damaged, IndexError, struct.error):
        _locate_damage(data, count)
        raise
    return seqno, entries


def coalesce_python(payloads: Sequence[Any]) -> Folded:
    """Decode layout 3 ``payloads`` in order and return the newest state per key as rows.

    ``upserts`` is flat, 7 per written key (key, value, flags, expiry, cas as SQLite's
    signed INTEGER, datatype, seqno; key and value as ``bytearray``, which sqlite3 binds
    without its adapter lookup), ``deletes`` the keys whose newest state is a delete,
    both in the order each key first appears; ``max_cas`` is the highest CAS of the
    written rows, ``seqno`` the highest batch seqno and ``entries`` the number of
    mutations decoded. Raises BatchLayoutError naming the payload's index (TypeError,
    before anything is decoded, for a payload that is not bytes-like).
    """
    newest: dict[bytes, Any] = {}
    seqno = 0
    entries = 0
    for index, payload in enumerate([_as_bytes(payload) for payload in payloads]):
        try:
            batch_seqno, batch = decode_batch3_python(payload)
        except BatchLayoutError as exc:
            raise BatchLayoutError(f"payload {index}: {exc}") from None
        items = iter(batch)
        newest.update(zip(items, items))
        seqno = max(seqno, batch_seqno)
        entries += len(batch) // 2
    upserts: list = []
    deletes: list = []
    max_cas = 0
    for key, state in newest.items():
        if state.__class__ is int:
            deletes.append(bytearray(key))
            continue
        value, flags, cas, datatype, row_seqno, expiry, _ = state
        max_cas = max(max_cas, cas)
        upserts += (bytearray(key), bytearray(value), flags, expiry,
                    cas - 2**64 if cas > I64_MAX else cas, datatype, row_seqno)
    return Folded(upserts, deletes, max_cas, seqno, entries)


def _check_int(field: str, number: Any, maximum: int, where: str) -> None:
    """Raise TypeError unless ``number`` is exactly an int, ValueError unless it is in
    ``0..maximum``."""
    if number.__class__ is not int:
        raise TypeError(f"{where}{field} must be an int, not {type(number).__name__}")
    if not 0 <= number <= maximum:
        raise ValueError(f"{where}{field} {number} is out of range 0..{maximum}")


class _Refused(Exception):
    """An entry :func:`encode_batch_python`'s fast loop cannot write (the slow check that
    follows names it)."""


def _check_entry(index: int, key: Any, state: Any) -> None:
    """Raise the error of the first bad part of entry ``index`` of a batch."""
    _check_entry_at(f"encode_batch: entry {index}: ", key, state)


def _check_entry_at(where: str, key: Any, state: Any) -> None:
    """Raise the error of the first bad part of an entry (key, state, record fields),
    its message prefixed by ``where``."""
    if key.__class__ is not bytes:
        raise TypeError(f"{where}the key must be bytes, not {type(key).__name__}")
    if not 0 < len(key) <= U16_MAX:
        raise ValueError(f"{where}the key is {len(key)} bytes long (1..{U16_MAX} allowed)")
    if state.__class__ is int:
        _check_int("the delete's seqno", state, U64_MAX, where)
    elif state.__class__ is tuple and len(state) == 7:
        _check_record(where, state)
    else:
        kind = (f"a tuple of {len(state)} items" if state.__class__ is tuple
                else type(state).__name__)
        raise TypeError(f"{where}the state must be a record tuple of 7 items or a delete's "
                        f"seqno (an int), not {kind}")


def _check_record(where: str, state: tuple) -> None:
    """Raise the error of the first bad field of a record, checked in record order."""
    value = state[0]
    if value.__class__ is not bytes:
        raise TypeError(f"{where}value must be bytes, not {type(value).__name__}")
    if len(value) > U32_MAX:
        raise ValueError(f"{where}value is {len(value)} bytes long (at most {U32_MAX} allowed)")
    for field, position, maximum in _INT_FIELDS:
        _check_int(field, state[position], maximum, where)


def _as_bytes(payload: Any) -> bytes:
    """Return the bytes of a bytes-like payload (the payload itself if it is bytes)."""
    if payload.__class__ is bytes:
        return payload
    return memoryview(payload).cast("B").tobytes()


def _read_header(data: bytes) -> tuple[int, int]:
    """Return ``(seqno, count)`` from the header of ``data``."""
    if data[:2] != TAG[:len(data[:2])]:
        raise BatchLayoutError(f"byte 0: not a layout 3 batch (starts {data[:2].hex()}, "
                               f"layout 3 starts {TAG.hex()})")
    if len(data) < _HEADER.size:
        raise BatchLayoutError(f"byte {len(data)}: truncated header ({len(data)} of "
                               f"{_HEADER.size} bytes)")
    _, seqno, count = _HEADER.unpack_from(data)
    return seqno, count


def _entry_bounds(data: bytes, offset: int, index: int, count: int) -> tuple[int, int, int]:
    """Check entry ``index`` at ``offset``; return where its key starts and ends and where
    the entry ends."""
    if offset == len(data):
        raise BatchLayoutError(f"byte {offset}: payload ends after {index} of {count} entries")
    kind = data[offset]
    if kind == WRITE:
        head = _WRITE_HEAD.size
    elif kind == DELETE:
        head = _DELETE_HEAD.size
    else:
        raise BatchLayoutError(f"byte {offset}: entry {index} has unknown kind {kind} (0 is a "
                               f"write, 1 a delete)")
    left = len(data) - offset
    if left < head:
        raise BatchLayoutError(f"byte {offset}: entry {index} truncated ({left} bytes left, its "
                               f"header needs {head})")
    key_len = int.from_bytes(data[offset + 1:offset + 3], "little")
    if not key_len:
        raise BatchLayoutError(f"byte {offset + 1}: entry {index} has an empty key")
    body = key_len
    if kind == WRITE:
        body += int.from_bytes(data[offset + 3:offset + 7], "little")
    if left - head < body:
        raise BatchLayoutError(f"byte {offset + head}: entry {index} truncated ({left - head} "
                               f"bytes left, key and value need {body})")
    key_at = offset + head
    return key_at, key_at + key_len, key_at + body


def _check_end(data: bytes, offset: int, count: int) -> None:
    """Raise unless the last entry ends the payload."""
    if offset != len(data):
        raise BatchLayoutError(f"byte {offset}: {len(data) - offset} bytes after the last of "
                               f"{count} entries")


def _locate_damage(data: bytes, count: int) -> None:
    """Walk a payload :func:`decode_batch3_python` found damaged, checking every bound,
    and raise the BatchLayoutError of the first fault."""
    offset = _HEADER.size
    for index in range(count):
        offset = _entry_bounds(data, offset, index, count)[2]
    _check_end(data, offset, count)


class _Damaged(Exception):
    """A payload :func:`decode_batch3_python`'s fast loop cannot read (the slow walk that
    follows names the fault)."""


def configure_c(module: ModuleType) -> None:
    """Hand the C module the error class it raises and the result class of coalesce."""
    module.configure(BatchLayoutError, Folded)


def load_c() -> ModuleType | None:
    """Return the configured C module, or None when the extension was not built."""
    try:
        from . import _batch_codec
    except ImportError as exc:
        log.debug("batch codec: C extension unavailable (%s)", exc)
        return None
    configure_c(_batch_codec)
    return _batch_codec


def _select() -> ModuleType | None:
    """Return the C module to use, unless it is missing or CBSERVER_PURE_PYTHON is set."""
    if pure_python_requested():
        log.debug("batch codec: Python (CBSERVER_PURE_PYTHON is set)")
        return None
    return load_c()


#: The C module in use, or None for the Python reference.
C_CODEC = _select()
encode_batch = encode_batch_python if C_CODEC is None else C_CODEC.encode_batch
coalesce = coalesce_python if C_CODEC is None else C_CODEC.coalesce
decode_batch3 = decode_batch3_python if C_CODEC is None else C_CODEC.decode_batch3
