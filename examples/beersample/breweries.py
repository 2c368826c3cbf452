"""Breweries: the part chapter 2 left to the reader, with its beers and a delete guard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from couchbase.views.params import Query

from beersample.beers import beer_rows
from beersample.database import get_db
from beersample.forms import BREWERY_FIELDS, FormResult, normalize_brewery_fields
from beersample.keys import brewery_key
from beersample.kinds import Kind
from beersample.models import Brewery, Entity
from beersample.pages import json_response, per_page, search_value, stale
from beersample.rows import BeerListRowProcessor, BreweryListRowProcessor
from beersample.views_setup import BEERS_BY_BREWERY

MAX_BEERS_SHOWN = 500


def validate(form: Any, db: Any) -> FormResult:
    """Validate a brewery form."""
    return normalize_brewery_fields(form)


def new_key(values: dict[str, Any]) -> str:
    """The data set's key rule for breweries: the slug of the name."""
    return brewery_key(values["name"])


def search(db: Any, value: str) -> list[dict[str, Any]]:
    """Breweries whose name starts with `value`."""
    query = Query(limit=per_page(), stale=stale())
    query.mapkey_range = [value, value + Query.STRING_RANGE_END]
    rows = db.query("brewery", "by_name", row_processor=BreweryListRowProcessor(), query=query)
    return [{"id": b.id, "name": b.name, "city": b.city, "country": b.country,
             "likes": b.likes} for b in rows]


def beers_of(db: Any, brewery_id: str, prefix: str = "",
             limit: int = MAX_BEERS_SHOWN) -> list[Any]:
    """The brewery's beers by name, optionally only names starting with `prefix`."""
    design, view = BEERS_BY_BREWERY
    query = Query(limit=limit, stale=stale(), reduce=False)
    query.mapkey_range = [[brewery_id, prefix], [brewery_id, prefix + Query.STRING_RANGE_END]]
    return list(db.query(design, view, query=query,
                         row_processor=BeerListRowProcessor(lambda key: key[1])))


def count_beers(db: Any, brewery_id: str) -> int:
    """How many beers name this brewery, counted by the view's reduce on fresh data."""
    design, view = BEERS_BY_BREWERY
    query = Query(stale=False, reduce=True)
    query.mapkey_range = [[brewery_id], [brewery_id, {}]]
    rows = list(db.query(design, view, query=query))
    return sum(row.value for row in rows if isinstance(row.value, int))


def show_context(db: Any, brewery: Entity) -> dict[str, Any]:
    """The beers a brewery page lists."""
    return {"beers": beers_of(db, brewery.id)}


def delete_refusal(db: Any, brewery: Entity) -> str | None:
    """Refuse to delete a brewery that still has beers (food for thought #1)."""
    count = count_beers(db, brewery.id)
    if not count:
        return None
    noun = "beer" if count == 1 else "beers"
    return (f"{brewery.name} still has {count} {noun}. Delete them or move them to "
            f"another brewery first.")


def search_beers(db: Any, brewery_id: str, value: str) -> list[dict[str, Any]]:
    """Beers of one brewery whose name starts with `value` (food for thought #2)."""
    return beer_rows(beers_of(db, brewery_id, value, per_page()))


BREWERY = Kind(
    name="brewery", plural="breweries", label="Brewery", entity_class=Brewery,
    fields=BREWERY_FIELDS, list_view=("brewery", "by_name"),
    row_processor=BreweryListRowProcessor, validate=validate, new_key=new_key,
    search=search, show_context=show_context, delete_refusal=delete_refusal)


def add_beer_search(bp: Blueprint) -> None:
    """Add /breweries/beers/<id>/search: the JSON filter of a brewery page's beer list."""

    @bp.get("/beers/<doc_id>/search")
    def beer_search(doc_id: str) -> Any:
        """Answer the brewery page's filter box with that brewery's matching beers."""
        value = search_value()
        if value is None:
            return json_response({"error": "search text is too long"}, 400)
        return json_response(search_beers(get_db(), doc_id, value))
