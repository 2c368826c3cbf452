"""Design documents and index snapshots in the bucket's own metadata table.

The storage layer gives every persistent bucket a small key/value table committed by the
bucket's flusher in order with its documents (see ``cbserver.storage.BucketPersistence``).
Design documents live in namespace ``design`` (key ``_design/<name>``, written on every
PUT and DELETE); index snapshots live in namespace ``views`` (key ``index/<name>``,
zlib-compressed JSON, written periodically and at shutdown).  A snapshot records the
bucket seqno it is current up to, so a restart maps only documents changed after it.
"""
from __future__ import annotations

import json
import logging
import zlib
from typing import Any, Protocol

from .ddocs import DesignDocument

log = logging.getLogger(__name__)

DESIGN_NAMESPACE = "design"
INDEX_NAMESPACE = "views"
INDEX_FORMAT = 1
_DESIGN_PREFIX = "_design/"
_INDEX_PREFIX = "index/"


class MetadataTable(Protocol):
    """What the views need of ``BucketPersistence``: its metadata get/put/delete."""

    def meta_items(self, namespace: str) -> dict[str, bytes]: ...

    def meta_put(self, namespace: str, key: str, value: bytes) -> Any: ...

    def meta_delete(self, namespace: str, key: str) -> Any: ...


def _check_design(saved: Any) -> None:
    """Raise ValueError unless ``saved`` has the shape ``save_design`` writes."""
    body = saved.get("body") if isinstance(saved, dict) else None
    views = body.get("views", {}) if isinstance(body, dict) else None
    if not isinstance(views, dict) or not isinstance(saved.get("rev"), str):
        raise ValueError("expected {\"body\": {\"views\": {...}}, \"rev\": \"...\"}")
    for name, view in views.items():
        if not isinstance(view, dict) or not isinstance(view.get("map"), str):
            raise ValueError(f"view `{name}` has no map function")
        if view.get("reduce") is not None and not isinstance(view["reduce"], str):
            raise ValueError(f"reduce of view `{name}` is not a string")


class ViewPersistence:
    """Reads and writes the design documents and index snapshots of one bucket."""

    def __init__(self, table: MetadataTable, bucket_name: str) -> None:
        self._table = table
        self._bucket_name = bucket_name

    def load_design_documents(self) -> dict[str, Any]:
        """Return the stored design documents in ``DesignDocumentStore.snapshot`` form."""
        docs: dict[str, Any] = {}
        generation = 0
        for key, raw in self._table.meta_items(DESIGN_NAMESPACE).items():
            name = key.removeprefix(_DESIGN_PREFIX)
            try:
                saved = json.loads(raw)
                _check_design(saved)
                generation = max(generation, int(saved["rev"].split("-", 1)[0]))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                log.error("bucket %s: stored design document %s is unreadable (%s); skipped",
                          self._bucket_name, key, exc)
                continue
            docs[name] = saved
        return {"generation": generation, "docs": docs}

    def save_design(self, ddoc: DesignDocument) -> None:
        """Store a design document (durable with the flusher's next batch)."""
        value = json.dumps({"body": ddoc.body, "rev": ddoc.rev}, ensure_ascii=False).encode()
        self._table.meta_put(DESIGN_NAMESPACE, ddoc.doc_id, value)

    def delete_design(self, name: str) -> None:
        """Forget a design document and its index snapshot."""
        self._table.meta_delete(DESIGN_NAMESPACE, _DESIGN_PREFIX + name)
        self._table.meta_delete(INDEX_NAMESPACE, _INDEX_PREFIX + name)

    def load_indexes(self) -> dict[str, dict[str, Any]]:
        """Return the stored index snapshots by design document name (unreadable ones skipped)."""
        indexes: dict[str, dict[str, Any]] = {}
        for key, raw in self._table.meta_items(INDEX_NAMESPACE).items():
            if not key.startswith(_INDEX_PREFIX):
                continue
            try:
                state = json.loads(zlib.decompress(raw))
                if state.get("format") != INDEX_FORMAT:
                    raise ValueError(f"format {state.get('format')!r}, expected {INDEX_FORMAT}")
            except (ValueError, zlib.error, AttributeError) as exc:
                log.warning("bucket %s: index snapshot %s is unreadable (%s); it is rebuilt",
                            self._bucket_name, key, exc)
                continue
            indexes[key.removeprefix(_INDEX_PREFIX)] = state
        return indexes

    def save_index(self, name: str, state: dict[str, Any], seqno: int) -> int:
        """Store the snapshot of one design document's index; return its size in bytes."""
        payload = {"format": INDEX_FORMAT, "seqno": seqno, **state}
        raw = zlib.compress(json.dumps(payload, ensure_ascii=False,
                                       separators=(",", ":")).encode(), 1)
        self._table.meta_put(INDEX_NAMESPACE, _INDEX_PREFIX + name, raw)
        return len(raw)
