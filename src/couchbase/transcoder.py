"""Key and value conversion between Python objects and the bytes stored on the server.

The module-level functions implement the 1.0 rules used when a connection has no
transcoder (sdk-1.0-api.md 4): the format bits are tested in the order UTF8, BYTES,
PICKLE, and anything else is JSON. The JSON and pickle converters come from the
helper registry in ``couchbase._libcouchbase`` so ``set_json_converters`` and
``set_pickle_converters`` affect every connection at once. ``key_to_bytes`` and
friends apply a connection's optional transcoder and validate what it returns.
``Transcoder`` is the subclassable default; ``TranscoderPP`` the plain reference.
"""
from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Any, Callable

from . import _libcouchbase as C
from .exceptions import ArgumentError, CouchbaseError, ValueFormatError

Converter = Callable[[Any], Any]

_MAX_FLAGS = 0xFFFFFFFF
#: Common flags (protocol.md 3.2): newer SDKs keep the format in bits 24-27 of the flags.
_COMMON_FORMAT_MASK = 0x0F000000
_COMMON_FORMAT_SHIFT = 24
_COMMON_TO_LEGACY = {1: C.FMT_PICKLE, 2: C.FMT_JSON, 3: C.FMT_BYTES, 4: C.FMT_UTF8}


def _key_bytes(key: Any) -> bytes:
    """UTF-8 bytes of a str key; anything else is a ValueFormatError."""
    if not isinstance(key, str):
        raise ValueFormatError.pyexc("Must be unicode or string", obj=key)
    try:
        return key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueFormatError.pyexc("Key is not valid Unicode", obj=key, inner=exc) from exc


def encode_key(key: Any) -> bytes:
    """Encode a key for the wire: str only, UTF-8, and never empty."""
    data = _key_bytes(key)
    if not data:
        raise ArgumentError.pyexc("Key must not be empty", obj=key)
    return data


def decode_key(raw: bytes) -> str:
    """Decode a key echoed by the server back to str."""
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueFormatError.pyexc("Failed to decode key", obj=raw, inner=exc) from exc


def _check_flags(format: Any) -> int:
    """Validate a format argument: an int that fits in 32 unsigned bits."""
    if not isinstance(format, int) or not 0 <= format <= _MAX_FLAGS:
        raise ArgumentError.pyexc("Bad value for flags", obj=format)
    return format


def _convert(converter: Converter, value: Any) -> Any:
    """Run a registry converter, wrapping its failure in ValueFormatError."""
    try:
        return converter(value)
    except Exception as exc:
        raise ValueFormatError.pyexc("Couldn't encode value", obj=value, inner=exc) from exc


def encode_value(value: Any, format: Any) -> tuple[bytes, int]:
    """Encode a value in ``format`` and return ``(bytes, flags)`` to store."""
    fmt = _check_flags(format)
    if fmt & C.FMT_UTF8:
        if not isinstance(value, str):
            raise ValueFormatError.pyexc("Couldn't encode value: FMT_UTF8 needs a str",
                                         obj=value)
        try:
            data: Any = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueFormatError.pyexc("Couldn't encode value", obj=value,
                                         inner=exc) from exc
    elif fmt & C.FMT_BYTES:
        if not isinstance(value, (bytes, bytearray)):
            raise ValueFormatError.pyexc(
                "Couldn't encode value: FMT_BYTES needs bytes or bytearray", obj=value)
        data = bytes(value)
    elif fmt & C.FMT_PICKLE:
        data = _convert(C._helpers["pickle_encode"], value)
    else:
        data = _convert(C._helpers["json_encode"], value)
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueFormatError.pyexc("Couldn't encode value", obj=value,
                                         inner=exc) from exc
    elif isinstance(data, bytearray):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise ValueFormatError.pyexc(
            "Couldn't encode value: the converter returned neither str nor bytes", obj=value)
    return data, fmt & C.FMT_MASK


def legacy_format(flags: int) -> int:
    """The 1.0 format bits of stored flags, so documents of newer SDKs decode too.

    A known common-flags format (pickle/private, JSON, binary, string) wins; otherwise the
    low bits are the 1.0 format.  Python SDK 2.x-4.x set both, and they agree.
    """
    common = (flags & _COMMON_FORMAT_MASK) >> _COMMON_FORMAT_SHIFT
    return _COMMON_TO_LEGACY.get(common, flags)


def decode_value(raw: bytes, flags: int) -> Any:
    """Decode stored bytes according to the item's flags (1.0 or common flags)."""
    fmt = legacy_format(flags)
    try:
        if fmt & C.FMT_UTF8:
            return bytes(raw).decode("utf-8")
        if fmt & C.FMT_BYTES:
            return bytes(raw)
        if fmt & C.FMT_PICKLE:
            return C._helpers["pickle_decode"](bytes(raw))
        return C._helpers["json_decode"](bytes(raw).decode("utf-8"))
    except Exception as exc:
        raise ValueFormatError.pyexc("Failed to decode bytes", obj=raw, inner=exc) from exc


def _method(transcoder: Any, name: str) -> Callable[..., Any]:
    """Look up a transcoder method by name, as 1.0 did (duck typing)."""
    try:
        return getattr(transcoder, name)
    except AttributeError as exc:
        raise ValueFormatError.pyexc(f"couldn't find transcoder method {name}",
                                     obj=transcoder, inner=exc) from exc


def key_to_bytes(transcoder: Any, key: Any) -> bytes:
    """Encode a key with the connection's transcoder (None means the default rules)."""
    if transcoder is None:
        return encode_key(key)
    data = _method(transcoder, "encode_key")(key)
    if isinstance(data, bytearray):
        data = bytes(data)
    if not isinstance(data, bytes) or not data:
        raise ValueFormatError.pyexc("Transcoder encode_key must return non-empty bytes",
                                     obj=key)
    return data


def key_from_bytes(transcoder: Any, raw: bytes) -> Hashable:
    """Decode a server-echoed key with the connection's transcoder (None: default)."""
    if transcoder is None:
        return decode_key(raw)
    key = _method(transcoder, "decode_key")(raw)
    try:
        hash(key)
    except TypeError as exc:
        raise ValueFormatError.pyexc("Transcoder decode_key returned an unhashable key",
                                     obj=key, inner=exc) from exc
    return key


def _name_key(exc: CouchbaseError, key: Any) -> None:
    """Attach the key being processed to a conversion error that lacks one."""
    if exc.key is None:
        exc.key = key


def value_to_bytes(transcoder: Any, value: Any, format: Any,
                   key: Any = None) -> tuple[bytes, int]:
    """Encode a value with the connection's transcoder (None: default rules).

    ``key`` only names the item in the errors raised.
    """
    try:
        return _value_to_bytes(transcoder, value, format)
    except CouchbaseError as exc:
        _name_key(exc, key)
        raise


def _value_to_bytes(transcoder: Any, value: Any, format: Any) -> tuple[bytes, int]:
    """value_to_bytes without the key context."""
    if transcoder is None:
        return encode_value(value, format)
    encoded = _method(transcoder, "encode_value")(value, format)
    if not isinstance(encoded, tuple) or len(encoded) != 2:
        raise ValueFormatError.pyexc(
            "Transcoder encode_value must return a (bytes, flags) tuple", obj=encoded)
    data, flags = encoded
    if isinstance(data, bytearray):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ValueFormatError.pyexc("Transcoder encode_value returned non-bytes data",
                                     obj=data)
    if isinstance(flags, bool) or not isinstance(flags, int) or not 0 <= flags <= _MAX_FLAGS:
        raise ValueFormatError.pyexc(
            "Transcoder encode_value returned flags that do not fit in 32 bits", obj=flags)
    return data, flags


def value_from_bytes(transcoder: Any, raw: bytes, flags: int, key: Any = None) -> Any:
    """Decode a stored value with the connection's transcoder (None: default rules).

    ``key`` only names the item in the errors raised.
    """
    try:
        if transcoder is None:
            return decode_value(raw, flags)
        return _method(transcoder, "decode_value")(raw, flags)
    except CouchbaseError as exc:
        _name_key(exc, key)
        raise


def set_json_converters(encode: Converter, decode: Converter) -> tuple[Converter, Converter]:
    """Replace the process-wide FMT_JSON converters; return the previous pair."""
    old = C._modify_helpers(json_encode=encode, json_decode=decode)
    return old["json_encode"], old["json_decode"]


def set_pickle_converters(encode: Converter,
                          decode: Converter) -> tuple[Converter, Converter]:
    """Replace the process-wide FMT_PICKLE converters; return the previous pair."""
    old = C._modify_helpers(pickle_encode=encode, pickle_decode=decode)
    return old["pickle_encode"], old["pickle_decode"]


class Transcoder:
    """Default conversions as an object; subclass it to customise one step."""

    def encode_key(self, key: Any) -> bytes:
        """Encode a str key as UTF-8."""
        return _key_bytes(key)

    def decode_key(self, key: bytes) -> Hashable:
        """Decode a UTF-8 key."""
        return decode_key(key)

    def encode_value(self, value: Any, format: Any) -> tuple[bytes, Any]:
        """Encode by the format bits; the format itself is returned as the flags."""
        data, _ = encode_value(value, format)
        return data, format

    def decode_value(self, value: bytes, flags: int) -> Any:
        """Decode by the format bits of the flags."""
        return decode_value(value, flags)


class TranscoderPP:
    """Plain-Python reference transcoder: exact formats, builtin exceptions."""

    def encode_key(self, key: Any) -> bytes:
        """Encode a str key as UTF-8."""
        return self.encode_value(key, C.FMT_UTF8)[0]

    def decode_key(self, key: bytes) -> Any:
        """Decode a UTF-8 key."""
        return self.decode_value(key, C.FMT_UTF8)

    def encode_value(self, value: Any, format: int) -> tuple[bytes, int]:
        """Encode ``value`` in exactly one of the four formats."""
        if format == C.FMT_PICKLE:
            data = C._helpers["pickle_encode"](value)
        elif format == C.FMT_JSON:
            data = C._helpers["json_encode"](value)
        elif format == C.FMT_BYTES:
            if not isinstance(value, (bytes, bytearray)):
                raise TypeError(f"FMT_BYTES needs bytes, got {type(value).__name__}")
            data = bytes(value)
        elif format == C.FMT_UTF8:
            if not isinstance(value, str):
                raise TypeError(f"FMT_UTF8 needs str, got {type(value).__name__}")
            data = value
        else:
            raise ValueError(f"Unrecognized format {format!r}")
        if isinstance(data, str):
            data = data.encode("utf-8")
        return data, format

    def decode_value(self, value: bytes, flags: int) -> Any:
        """Decode by the format in the flags; unknown flags give the raw bytes."""
        fmt = flags & C.FMT_MASK
        if fmt == C.FMT_BYTES:
            return bytes(value)
        if fmt == C.FMT_UTF8:
            return bytes(value).decode("utf-8")
        if fmt == C.FMT_JSON:
            return C._helpers["json_decode"](bytes(value).decode("utf-8"))
        if fmt == C.FMT_PICKLE:
            return C._helpers["pickle_decode"](bytes(value))
        warnings.warn(f"Received unrecognized flags 0x{flags:x}; returning raw bytes",
                      stacklevel=2)
        return bytes(value)
