"""Beers: the part of the app chapter 2 of the manual walks through."""

from __future__ import annotations

from typing import Any

from couchbase.views.params import Query

from beersample.documents import exists, load
from beersample.forms import BEER_FIELDS, FormResult, normalize_beer_fields
from beersample.keys import beer_key, slugify
from beersample.kinds import Kind
from beersample.models import Beer, Brewery, Entity
from beersample.pages import per_page, stale
from beersample.rows import BeerListRowProcessor


def validate(form: Any, db: Any) -> FormResult:
    """Validate a beer form; its brewery must exist."""
    return normalize_beer_fields(form, lambda brewery_id: exists(db, brewery_id, "brewery"))


def new_key(values: dict[str, Any]) -> str:
    """The tutorial's key rule, `<brewery_id>-<name as a slug>`; "" when the slug is empty."""
    if not slugify(values["name"]):
        return ""
    return beer_key(values["brewery_id"], values["name"])


def beer_rows(beers: list[Beer]) -> list[dict[str, Any]]:
    """Turn beers into the JSON rows the page script shows."""
    return [{"id": b.id, "name": b.name, "brewery": b.brewery_id,
             "brewery_name": b.brewery_name, "likes": b.likes} for b in beers]


def search(db: Any, value: str) -> list[dict[str, Any]]:
    """Beers whose name starts with `value` (a mapkey_range up to STRING_RANGE_END)."""
    query = Query(limit=per_page(), stale=stale())
    query.mapkey_range = [value, value + Query.STRING_RANGE_END]
    return beer_rows(list(db.query("beer", "by_name", row_processor=BeerListRowProcessor(),
                                   query=query)))


def show_context(db: Any, beer: Entity) -> dict[str, Any]:
    """The brewery a beer page links to."""
    brewery_id = beer.doc.get("brewery_id")
    return {"brewery": load(db, brewery_id, Brewery) if isinstance(brewery_id, str) else None}


def delete_refusal(db: Any, beer: Entity) -> str | None:
    """Nothing depends on a beer, so it can always be deleted."""
    return None


BEER = Kind(
    name="beer", plural="beers", label="Beer", entity_class=Beer, fields=BEER_FIELDS,
    list_view=("beer", "by_name"), row_processor=BeerListRowProcessor, validate=validate,
    new_key=new_key, search=search, show_context=show_context,
    delete_refusal=delete_refusal)
