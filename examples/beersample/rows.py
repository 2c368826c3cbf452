"""Row processors: turn view rows into beers and breweries with one get_multi per page."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from beersample.keys import likes_key
from beersample.models import Beer, Brewery, Entity, document_type


def fetch_docs(connection: Any, keys: list[str]) -> dict[str, Any]:
    """Fetch many documents at once, quietly; return the ValueResults that succeeded."""
    if not keys:
        return {}
    results = connection.get_multi(keys, quiet=True)
    return {key: result for key, result in results.items() if result.success}


def fetch_likes(connection: Any, ids: list[str]) -> dict[str, int]:
    """Return the like count of every id in `ids` (0 where there is no counter)."""
    counters = fetch_docs(connection, [likes_key(i) for i in ids])
    likes = {}
    for doc_id in ids:
        result = counters.get(likes_key(doc_id))
        value = result.value if result is not None else 0
        likes[doc_id] = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return likes


class EntityRowProcessor:
    """Builds one entity per row, keeping only rows whose document still exists."""

    def __init__(self, entity_class: type[Entity] = Entity,
                 name_of_key: Callable[[Any], Any] = lambda key: key) -> None:
        """Choose the entity class and how the display name is read from the row key."""
        self.entity_class = entity_class
        self.name_of_key = name_of_key

    def handle_rows(self, rows: Iterable[dict[str, Any]], connection: Any,
                    include_docs: bool) -> list[Entity]:
        """Turn one page of rows into entities with their documents, CAS and likes."""
        entities = []
        for row in rows:
            if row.get("id") is None:
                continue
            entity = self.entity_class(row["id"], self.name_of_key(row.get("key")))
            entity.key = row.get("key")
            entities.append(entity)
        docs = fetch_docs(connection, [e.id for e in entities])
        kept = []
        for entity in entities:
            result = docs.get(entity.id)
            if result is None or document_type(result.value) != entity.kind:
                continue
            entity.doc, entity.cas = result.value, result.cas
            kept.append(entity)
        likes = fetch_likes(connection, [e.id for e in kept])
        for entity in kept:
            entity.likes = likes[entity.id]
        self.complete(kept, connection)
        return kept

    def complete(self, entities: list[Entity], connection: Any) -> None:
        """Add what a subclass shows beyond the document; nothing by default."""


class BeerListRowProcessor(EntityRowProcessor):
    """Lists beers with their brewery's id and name (the tutorial's processor, extended)."""

    def __init__(self, name_of_key: Callable[[Any], Any] = lambda key: key) -> None:
        """Build Beer objects; names come from the row key."""
        super().__init__(Beer, name_of_key)

    def complete(self, entities: list[Entity], connection: Any) -> None:
        """Set `brewery_id` and look up every brewery's name with one get_multi."""
        for beer in entities:
            beer.brewery_id = beer.doc.get("brewery_id", "")
        ids = sorted({b.brewery_id for b in entities
                      if isinstance(b.brewery_id, str) and b.brewery_id})
        breweries = fetch_docs(connection, ids)
        for beer in entities:
            result = breweries.get(beer.brewery_id)
            if result is not None and isinstance(result.value, dict):
                beer.brewery_name = result.value.get("name", "")


class BreweryListRowProcessor(EntityRowProcessor):
    """Lists breweries by name."""

    def __init__(self) -> None:
        """Build Brewery objects named by the row key."""
        super().__init__(Brewery)


class CursorRowProcessor:
    """Keeps only (key, docid) of each row: all that paging backwards needs."""

    def handle_rows(self, rows: Iterable[dict[str, Any]], connection: Any,
                    include_docs: bool) -> list[tuple[Any, str]]:
        """Return (key, docid) pairs without fetching any document."""
        return [(row.get("key"), row["id"]) for row in rows if row.get("id") is not None]
