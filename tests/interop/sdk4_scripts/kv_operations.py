"""Run every key-value operation of the issue through SDK 4 and report each outcome.

Argument: {"host", "kv_port", "user", "password", "bucket", "prefix"}.  Output: one JSON
object, one entry per step, each holding what the SDK returned or the exception name.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from common import arguments, connect, emit, error_name
from couchbase.options import (DecrementOptions, DeltaValue, IncrementOptions, InsertOptions,
                               ReplaceOptions, SignedInt64)
from couchbase.transcoder import RawBinaryTranscoder


def main() -> None:
    """Perform the operations in order; a failing step is recorded, not fatal."""
    args = arguments()
    cluster = connect(args)
    collection = cluster.bucket(args["bucket"]).default_collection()
    binary = collection.binary()
    p = args["prefix"]
    report: dict[str, Any] = {}

    def step(name: str, call: Callable[[], Any]) -> Any:
        try:
            report[name] = call()
        except Exception as exc:  # the test asserts on the exception name
            report[name] = {"error": error_name(exc)}
        return report[name]

    doc = f"{p}doc"
    first = step("upsert", lambda: {"cas": collection.upsert(doc, {"n": 1, "s": "é"}).cas})
    step("get", lambda: _get(collection, doc))
    step("exists", lambda: collection.exists(doc).exists)
    step("exists_missing", lambda: collection.exists(f"{p}missing").exists)
    step("get_missing", lambda: collection.get(f"{p}missing").content_as[dict])
    hour = InsertOptions(expiry=timedelta(hours=1))
    step("insert_new", lambda: {"cas": collection.insert(f"{p}new", "text", hour).cas})
    step("get_new", lambda: _get(collection, f"{p}new", str))
    step("insert_existing", lambda: collection.insert(doc, {"n": 0}).cas)
    step("replace_stale_cas", lambda: collection.replace(doc, {"n": 0},
                                                         ReplaceOptions(cas=first["cas"] + 1)).cas)
    step("replace", lambda: {"cas": collection.replace(doc, {"n": 2},
                                                       ReplaceOptions(cas=first["cas"])).cas})
    step("replace_missing", lambda: collection.replace(f"{p}missing", {"n": 0}).cas)
    step("get_after_replace", lambda: _get(collection, doc))
    step("touch", lambda: {"cas": collection.touch(doc, timedelta(hours=1)).cas})
    step("get_and_touch", lambda: _get_and_touch(collection, doc))
    locked = step("get_and_lock", lambda: _get_and_lock(collection, doc))
    step("upsert_while_locked", lambda: collection.upsert(doc, {"n": 3}).cas)
    step("get_while_locked", lambda: _get(collection, doc))
    step("unlock_wrong_cas", lambda: collection.unlock(doc, locked["cas"] + 1))
    step("unlock", lambda: collection.unlock(doc, locked["cas"]) is None)
    step("unlock_not_locked", lambda: collection.unlock(doc, locked["cas"]))
    step("upsert_after_unlock", lambda: {"cas": collection.upsert(doc, {"n": 4}).cas})
    counter = f"{p}counter"
    step("increment_create", lambda: binary.increment(
        counter, IncrementOptions(initial=SignedInt64(10), delta=DeltaValue(5))).content)
    step("increment",
         lambda: binary.increment(counter, IncrementOptions(delta=DeltaValue(5))).content)
    step("decrement",
         lambda: binary.decrement(counter, DecrementOptions(delta=DeltaValue(3))).content)
    # the Python SDK sends initial 0 when none is given, so the counter is created
    step("decrement_missing_default_initial", lambda: binary.decrement(f"{p}nocounter").content)
    step("get_counter", lambda: _get(collection, counter, int))
    text = f"{p}text"
    step("upsert_bytes", lambda: {"cas": collection.upsert(
        text, b"middle", transcoder=RawBinaryTranscoder()).cas})
    step("append", lambda: {"cas": binary.append(text, b"-end").cas})
    step("prepend", lambda: {"cas": binary.prepend(text, b"start-").cas})
    step("append_missing", lambda: binary.append(f"{p}missing", b"x").cas)
    step("get_text", lambda: collection.get(
        text, transcoder=RawBinaryTranscoder()).content_as[bytes].decode())
    many = {f"{p}multi-{i}": {"i": i} for i in range(20)}
    step("upsert_multi", lambda: _multi(collection.upsert_multi(many)))
    step("get_multi", lambda: _get_multi(collection, [*many, f"{p}missing"]))
    step("remove", lambda: {"cas": collection.remove(doc).cas})
    step("remove_missing", lambda: collection.remove(doc).cas)
    step("get_removed", lambda: _get(collection, doc))
    cluster.close()
    emit(report)


def _get(collection, key: str, kind: type = dict) -> dict[str, Any]:
    result = collection.get(key)
    return {"cas": result.cas, "content": result.content_as[kind]}


def _get_and_touch(collection, key: str) -> dict[str, Any]:
    result = collection.get_and_touch(key, timedelta(hours=2))
    return {"cas": result.cas, "content": result.content_as[dict]}


def _get_and_lock(collection, key: str) -> dict[str, Any]:
    result = collection.get_and_lock(key, timedelta(seconds=10))
    return {"cas": result.cas, "content": result.content_as[dict]}


def _multi(result) -> dict[str, Any]:
    return {"all_ok": result.all_ok, "keys": sorted(result.results),
            "cas_nonzero": all(r.cas for r in result.results.values())}


def _get_multi(collection, keys: list[str]) -> dict[str, Any]:
    result = collection.get_multi(keys)
    return {"all_ok": result.all_ok,
            "contents": {k: r.content_as[dict] for k, r in result.results.items()},
            "errors": {k: error_name(e) for k, e in result.exceptions.items()}}


if __name__ == "__main__":
    main()
