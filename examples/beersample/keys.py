"""Document key rules of the beer-sample data: brewery slugs, beer keys, like counters."""

from __future__ import annotations

import re
import unicodedata

MAX_KEY_BYTES = 250
_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss",
                       "æ": "ae", "Æ": "AE", "đ": "d", "Đ": "D"})
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """Return the data set's slug of `name`: accents dropped, lower case, `_` between words."""
    decomposed = unicodedata.normalize("NFD", name.translate(_FOLD))
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_SLUG.sub("_", base.lower()).strip("_")


def brewery_key(name: str) -> str:
    """Return the key a new brewery called `name` is stored under."""
    return slugify(name)


def beer_key(brewery_id: str, name: str) -> str:
    """Return the key a new beer is stored under: `<brewery_id>-<slug of name>`."""
    return f"{brewery_id}-{slugify(name)}"


def likes_key(doc_id: str) -> str:
    """Return the key of the like counter that belongs to document `doc_id`."""
    return f"likes::{doc_id}"


def is_valid_key(key: str) -> bool:
    """Tell whether `key` can be a document key (non-empty, at most 250 UTF-8 bytes)."""
    return 0 < len(key.encode("utf-8")) <= MAX_KEY_BYTES
