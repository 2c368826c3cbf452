"""What views read of stored documents: live records, doc ids, revisions, include_docs."""
from __future__ import annotations

import base64
import json
from operator import itemgetter
from typing import Any, Iterable

from ..engine.item import EXPIRY, Item, Record


def rev_of(seqno: int, cas: int, expiry: int, flags: int) -> str:
    """Return the 2.x revision string ``<seq>-<hex of cas, expiration, flags>``."""
    return f"{seqno}-{cas & (2**64 - 1):016x}{expiry & 0xFFFFFFFF:08x}{flags & 0xFFFFFFFF:08x}"


def is_live(record: Record | None, now: float) -> bool:
    """Tell whether a record exists and has not expired at ``now``."""
    return record is not None and not 0 < record[EXPIRY] <= now


def decode_doc_id(key: bytes) -> str | None:
    """Return the key as a view doc id, or None when it is not UTF-8 (2.x skips those)."""
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def joined_text(parts: list[bytes], separator: str) -> str | None:
    """Return ``parts`` decoded from UTF-8 and joined by ``separator`` in one join and one
    decode, or None if there are none, one is not UTF-8 or one holds the separator."""
    try:
        joined = separator.encode().join(parts).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return joined if parts and joined.count(separator) == len(parts) - 1 else None


def live_documents(records: Iterable[tuple[bytes, Record]],
                   now: float) -> list[tuple[str, Record]]:
    """Return ``(doc_id, record)`` of the records live at ``now`` whose keys are UTF-8."""
    live = [pair for pair in records if not 0 < pair[1][EXPIRY] <= now]
    joined = joined_text(list(map(itemgetter(0), live)), "\x00")
    if joined is not None:
        return list(zip(joined.split("\x00"), map(itemgetter(1), live)))
    docs = ((decode_doc_id(key), record) for key, record in live)
    return [(doc_id, record) for doc_id, record in docs if doc_id is not None]


def doc_object(doc_id: str, item: Item | None) -> dict[str, Any] | None:
    """Return the 2.x ``include_docs`` object ``{meta, json|base64}`` of a document."""
    if item is None:
        return None
    meta = {"id": doc_id, "rev": rev_of(item.seqno, item.cas, item.expiry, item.flags),
            "expiration": item.expiry, "flags": item.flags}
    try:
        return {"meta": meta, "json": json.loads(bytes(item.value))}
    except (ValueError, UnicodeDecodeError):
        return {"meta": meta, "base64": base64.b64encode(bytes(item.value)).decode("ascii")}
