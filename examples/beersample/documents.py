"""Reading and writing one beer or brewery document, its CAS and its like counter."""

from __future__ import annotations

import time
from typing import Any, TypeVar

from beersample.keys import is_valid_key, likes_key
from beersample.models import Entity, document_type
from beersample.rows import fetch_likes

E = TypeVar("E", bound=Entity)


def timestamp() -> str:
    """Return the time in the data set's `updated` format (YYYY-MM-DD HH:MM:SS)."""
    return time.strftime("%Y-%m-%d %H:%M:%S")


def load(db: Any, doc_id: str, entity_class: type[E]) -> E | None:
    """Fetch `doc_id` as an entity of `entity_class`; None if missing or of another type."""
    if not is_valid_key(doc_id):
        return None
    result = db.get(doc_id, quiet=True)
    if not result.success or document_type(result.value) != entity_class.kind:
        return None
    likes = fetch_likes(db, [doc_id])[doc_id]
    return entity_class(doc_id, result.value.get("name", ""), result.value,
                        cas=result.cas, likes=likes)


def exists(db: Any, doc_id: str, kind: str) -> bool:
    """Tell whether `doc_id` is a stored document whose type is `kind`."""
    if not isinstance(doc_id, str) or not is_valid_key(doc_id):
        return False
    result = db.get(doc_id, quiet=True)
    return result.success and document_type(result.value) == kind


def new_document(values: dict[str, Any], kind: str) -> dict[str, Any]:
    """Build a new document from validated form values."""
    return {**values, "type": kind, "updated": timestamp()}


def updated_document(current: dict[str, Any], values: dict[str, Any],
                     kind: str) -> dict[str, Any]:
    """Merge validated form values into the stored document, keeping fields the form lacks."""
    return {**current, **values, "type": kind, "updated": timestamp()}


def change_likes(db: Any, doc_id: str, like: bool) -> int:
    """Add or take back one like atomically on the server; return the new count."""
    key = likes_key(doc_id)
    if like:
        return db.incr(key, amount=1, initial=1).value
    return db.decr(key, amount=1, initial=0).value


def delete_with_likes(db: Any, doc_id: str) -> None:
    """Delete a document, then its like counter if it has one."""
    db.delete(doc_id)
    db.delete(likes_key(doc_id), quiet=True)
