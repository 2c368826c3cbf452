"""Building results on the hot path: slot assignment instead of the ``__init__``
chain, and one tight loop for batches of plain keys whose values decode by the
built-in format rules. Anything unusual returns None so the caller takes the
general path, which produces the exact 1.0 errors."""
from __future__ import annotations

import json
import json.scanner
import struct
from typing import Any, Callable

from . import _libcouchbase as C
from .io.ops import Op
from .protocol import Opcode
from .result import MultiResult, OperationResult, ValueResult

_new = object.__new__
_unpack_flags = struct.Struct(">I").unpack
_scan_json = json.scanner.make_scanner(json.JSONDecoder())
_json_loads = json.loads
_GET_OPS = frozenset((Opcode.GET.value, Opcode.GAT.value, Opcode.GET_LOCKED.value))
_DECODED_ELSEWHERE = C.FMT_UTF8 | C.FMT_BYTES | C.FMT_PICKLE
_ENOENT = C.LCB_KEY_ENOENT
_NOT_PLAIN = frozenset(op.value for op in (Opcode.INCREMENT, Opcode.DECREMENT, Opcode.OBSERVE,
                                          Opcode.UNLOCK_KEY, Opcode.STAT))


def value_result(key: Any, rc: int, cas: int, value: Any, flags: int) -> ValueResult:
    """A ValueResult built by slot assignment."""
    result = _new(ValueResult)
    result._rc = rc
    result._key = key
    result._cas = cas
    result._value = value
    result._flags = flags
    return result


def op_result(key: Any, rc: int, cas: int) -> OperationResult:
    """An OperationResult built by slot assignment."""
    result = _new(OperationResult)
    result._rc = rc
    result._key = key
    result._cas = cas
    return result


def _decode_stock_json(raw: bytes) -> Any:
    """``json.loads`` of a raw value through the C scanner directly (same values, fewer
    Python frames)."""
    text = raw.decode("utf-8")
    value, end = _scan_json(text, 0)
    return value if end == len(text) else _json_loads(text)


def _json_decoder() -> Callable[[bytes], Any]:
    """The FMT_JSON decoder of raw values: :func:`_decode_stock_json` while the stock
    ``json.loads`` is the registered decoder, else the registered one. Callers treat any
    exception as "take the general path", which raises the exact 1.0 error."""
    decode = C._helpers["json_decode"]
    if decode is _json_loads:
        return _decode_stock_json
    return lambda raw: decode(raw.decode("utf-8"))


def plain_results(ops: list[Op], quiet: bool) -> tuple[MultiResult, ValueResult | None] | None:
    """Results of a batch of GET/GAT/LOCK or mutation ops whose ``tag`` is the caller's
    str key, and the first result to raise for (None: nothing to raise).

    Returns None (build nothing) on a duplicate key, a value that is not plain JSON
    or fails to decode, or any other op kind: the general path handles those.
    """
    results = MultiResult()
    failed = None
    decode_json = _json_decoder()
    last_extras = None
    flags = 0
    for op in ops:
        key = op.tag
        if key is None:
            return None
        rc = op.rc
        opcode = op.opcode
        if opcode in _GET_OPS:
            if rc == 0:
                reply = op.reply
                extras = reply.extras
                if extras != last_extras:
                    flags = _unpack_flags(extras)[0] if len(extras) == 4 else 0
                    if flags & _DECODED_ELSEWHERE:
                        return None
                    last_extras = extras
                try:
                    value = decode_json(reply.value)
                except Exception:
                    return None
                result = _new(ValueResult)
                result._rc = 0
                result._key = key
                result._cas = reply.cas
                result._value = value
                result._flags = flags
            else:
                result = value_result(key, rc, 0, None, 0)
        elif opcode in _NOT_PLAIN:
            return None
        else:
            reply = op.reply
            result = op_result(key, rc, reply.cas if rc == 0 and reply is not None else 0)
        results[key] = result
        if rc:
            results._all_ok = 0
            if failed is None and not (quiet and rc == _ENOENT):
                failed = result
    if len(results) != len(ops):
        return None
    return results, failed


def single_result(op: Op) -> OperationResult | None:
    """The result of one GET/GAT/LOCK or mutation op tagged with a str key, or None
    when the general path must build it (other op kinds, non-JSON or bad values)."""
    opcode = op.opcode
    if opcode in _NOT_PLAIN or op.tag is None:
        return None
    rc = op.rc
    reply = op.reply
    if opcode in _GET_OPS:
        if rc:
            return value_result(op.tag, rc, 0, None, 0)
        extras = reply.extras
        flags = _unpack_flags(extras)[0] if len(extras) == 4 else 0
        if flags & _DECODED_ELSEWHERE:
            return None
        try:
            value = _json_decoder()(reply.value)
        except Exception:
            return None
        return value_result(op.tag, 0, reply.cas, value, flags)
    return op_result(op.tag, rc, reply.cas if rc == 0 and reply is not None else 0)


def quiet_get_results(keys: list[str], found: list[tuple[int, bytes, bytes] | None],
                      missing_rc: int, quiet: bool
                      ) -> tuple[MultiResult, ValueResult | None] | None:
    """Results of a plain multi-get from the quiet-get fast path (one entry of
    ``found`` per key, None where the key got no hit and so ends with
    ``missing_rc``), and the first result to raise for.

    Returns None when a value is not plain JSON or fails to decode: the general
    path then produces the exact 1.0 results and errors.
    """
    results = MultiResult()
    failed = None
    decode_json = _json_decoder()
    last_extras = None
    flags = 0
    new = _new
    for key, hit in zip(keys, found):
        result = new(ValueResult)
        result._key = key
        if hit is None:
            result._rc = missing_rc
            result._cas = 0
            result._value = None
            result._flags = 0
            results[key] = result
            if failed is None and not (quiet and missing_rc == _ENOENT):
                failed = result
            continue
        cas, extras, raw = hit
        if extras != last_extras:
            flags = _unpack_flags(extras)[0] if len(extras) == 4 else 0
            if flags & _DECODED_ELSEWHERE:
                return None
            last_extras = extras
        try:
            value = decode_json(raw)
        except Exception:
            return None
        result._rc = 0
        result._cas = cas
        result._value = value
        result._flags = flags
        results[key] = result
    if None in found:
        results._all_ok = 0
    return results, failed
