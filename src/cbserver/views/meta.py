"""What a map function sees of a stored item: ``doc`` (JSON text or base64) and ``meta``."""
from __future__ import annotations

import base64
import json
import time
from typing import Any, Iterable, Protocol



class ItemLike(Protocol):
    """The fields of a KV engine item that views read."""

    value: bytes
    flags: int
    expiry: int
    cas: int
    seqno: int


def rev_of(item: ItemLike) -> str:
    """Return the 2.x revision string ``<seq>-<hex of cas, expiration, flags>``."""
    return f"{item.seqno}-{item.cas & (2**64 - 1):016x}{item.expiry & 0xFFFFFFFF:08x}{item.flags & 0xFFFFFFFF:08x}"


def meta_of(doc_id: str, item: ItemLike, doc_type: str) -> dict[str, Any]:
    """Return the ``meta`` object of a document as 2.x map functions receive it."""
    return {"id": doc_id, "rev": rev_of(item), "flags": item.flags,
            "expiration": item.expiry, "type": doc_type}


def is_live(item: ItemLike | None, now: float | None = None) -> bool:
    """Tell whether an item exists and has not expired."""
    if item is None:
        return False
    return not item.expiry or item.expiry > (time.time() if now is None else now)


def decode_doc_id(key: bytes) -> str | None:
    """Return the key as a view doc id, or None when it is not UTF-8 (2.x skips those)."""
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def live_documents(items: Iterable[tuple[bytes, ItemLike]],
                   now: float) -> list[tuple[str, ItemLike]]:
    """Return ``(doc_id, item)`` of the items live at ``now`` whose keys are UTF-8."""
    live = [(key, item) for key, item in items if not item.expiry or item.expiry > now]
    keys = [key for key, _ in live]
    try:
        joined = b"\x00".join(keys).decode("utf-8")
    except UnicodeDecodeError:
        joined = None
    if joined is not None and joined.count("\x00") == len(keys) - 1 and keys:
        return list(zip(joined.split("\x00"), [item for _, item in live]))
    docs = ((decode_doc_id(key), item) for key, item in live)
    return [(doc_id, item) for doc_id, item in docs if doc_id is not None]


def doc_object(doc_id: str, item: ItemLike | None) -> dict[str, Any] | None:
    """Return the 2.x ``include_docs`` object ``{meta, json|base64}`` of a document."""
    if item is None:
        return None
    meta = {"id": doc_id, "rev": rev_of(item), "expiration": item.expiry, "flags": item.flags}
    try:
        return {"meta": meta, "json": json.loads(bytes(item.value))}
    except (ValueError, UnicodeDecodeError):
        return {"meta": meta, "base64": base64.b64encode(bytes(item.value)).decode("ascii")}
