"""Write documents of every format through SDK 4, or read documents back through it.

Argument: {"host", "kv_port", "user", "password", "bucket", "prefix", "mode"}.
``write`` stores ``<prefix>json``, ``json_text``, ``string``, ``binary``, ``pickle`` and
``counter`` and reports their CAS; ``read`` decodes ``keys`` with the LegacyTranscoder
(which picks the format from the flags) and reports type, value and flags of each.
"""
from __future__ import annotations

from typing import Any

from common import arguments, connect, emit, error_name
from couchbase.options import DeltaValue, IncrementOptions, SignedInt64
from couchbase.transcoder import (LegacyTranscoder, RawBinaryTranscoder,
                                  RawStringTranscoder)


def write(collection, prefix: str) -> dict[str, Any]:
    """Store one document per format with the transcoder an SDK 4 user would pick."""
    cas = {
        "json": collection.upsert(f"{prefix}json", {"name": "Ünïcode", "list": [1, 2.5, None]}),
        "json_text": collection.upsert(f"{prefix}json_text", "a JSON string"),
        "string": collection.upsert(f"{prefix}string", "plain text é",
                                    transcoder=RawStringTranscoder()),
        "binary": collection.upsert(f"{prefix}binary", b"\x00\x01\xfe\xff",
                                    transcoder=RawBinaryTranscoder()),
        "pickle": collection.upsert(f"{prefix}pickle", {3, 1, 2}, transcoder=LegacyTranscoder()),
        "counter": collection.binary().increment(
            f"{prefix}counter", IncrementOptions(initial=SignedInt64(7), delta=DeltaValue(1))),
    }
    return {name: result.cas for name, result in cas.items()}


def describe(value: Any) -> dict[str, Any]:
    """A JSON-safe description of a decoded value (bytes as hex, sets sorted)."""
    if isinstance(value, bytes):
        return {"type": "bytes", "value": value.hex()}
    if isinstance(value, (set, frozenset)):
        return {"type": "set", "value": sorted(value)}
    return {"type": type(value).__name__, "value": value}


def read(collection, keys: list[str]) -> dict[str, Any]:
    """Decode each key by its flags, as SDK 4 applications that mix formats do."""
    report: dict[str, Any] = {}
    for key in keys:
        try:
            result = collection.get(key, transcoder=LegacyTranscoder())
            report[key] = {**describe(result.value), "flags": result.flags, "cas": result.cas}
        except Exception as exc:  # the test asserts on the exception name
            report[key] = {"error": error_name(exc)}
    return report


def main() -> None:
    """Run the requested mode and print its report."""
    args = arguments()
    cluster = connect(args)
    collection = cluster.bucket(args["bucket"]).default_collection()
    if args["mode"] == "write":
        report = write(collection, args["prefix"])
    else:
        report = read(collection, args["keys"])
    cluster.close()
    emit(report)


if __name__ == "__main__":
    main()
