"""The objects the pages show: a beer or a brewery with its document, CAS and likes."""

from __future__ import annotations

from typing import Any


class Entity:
    """A document of the bucket as a page sees it; missing fields read as ""."""

    kind = "entity"

    def __init__(self, id: str, name: str, doc: dict[str, Any] | None = None,
                 cas: int = 0, likes: int = 0) -> None:
        """Keep the key, display name, document body, CAS and like count."""
        self.id = id
        self.name = name
        self.doc = doc
        self.cas = cas
        self.likes = likes

    def __getattr__(self, name: str) -> Any:
        """Read a document field, as the tutorial's Beer class does."""
        if name.startswith("__"):
            raise AttributeError(name)
        doc = self.__dict__.get("doc")
        if not doc:
            return ""
        return doc.get(name, "")

    def __repr__(self) -> str:
        """Show the kind and key, for logs and test failures."""
        return f"{type(self).__name__}({self.id!r}, {self.name!r})"


class Beer(Entity):
    """A beer: a document with `"type": "beer"` and a `brewery_id`."""

    kind = "beer"

    def __init__(self, id: str, name: str, doc: dict[str, Any] | None = None,
                 cas: int = 0, likes: int = 0) -> None:
        """Start without a brewery; list pages fill `brewery_id` and `brewery_name`."""
        super().__init__(id, name, doc, cas, likes)
        self.brewery_name = ""
        if doc:
            self.brewery_id = doc.get("brewery_id", "")


class Brewery(Entity):
    """A brewery: a document with `"type": "brewery"`."""

    kind = "brewery"


def document_type(value: Any) -> str | None:
    """Return the `type` field of a decoded document, or None for non-documents."""
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value["type"]
    return None
