"""The form rules and key rules of the app, on their own (no server needed)."""

from __future__ import annotations

import gzip
import json

import pytest

from beersample.forms import normalize_beer_fields, normalize_brewery_fields
from beersample.keys import beer_key, brewery_key, is_valid_key, slugify
from cbserver.samples import get_sample

GOOD_BEER = {"beer_name": "Test Ale", "beer_brewery_id": "b", "beer_abv": "5.5",
             "beer_ibu": "", "beer_srm": "12", "beer_upc": "123", "beer_style": "Pale"}


def test_slug_rule_reproduces_every_key_of_the_sample():
    path = get_sample("beer-sample").path / "docs.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            doc = entry["doc"]
            if doc["type"] == "brewery":
                assert brewery_key(doc["name"]) == entry["id"]
            else:
                assert beer_key(doc["brewery_id"], doc["name"]) == entry["id"]


@pytest.mark.parametrize("name, slug", [
    ("Pilsner Urquell", "pilsner_urquell"), ("  Ünïcödé  Bräu!! ", "unicode_brau"),
    ("Browar Namysłów", "browar_namyslow"), ("!!!", ""), ("9½ Wheats", "9_wheats")])
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_key_length_limit():
    assert is_valid_key("a" * 250)
    assert not is_valid_key("a" * 251)
    assert not is_valid_key("")
    assert not is_valid_key("é" * 126)


def test_a_good_beer_form_gives_typed_fields():
    result = normalize_beer_fields(GOOD_BEER, lambda bid: bid == "b")
    assert result.ok, result.errors
    assert result.values["abv"] == 5.5 and result.values["ibu"] == 0.0
    assert result.values["upc"] == 123 and result.values["name"] == "Test Ale"


def test_unknown_inputs_are_ignored():
    result = normalize_beer_fields({**GOOD_BEER, "beer_type": "brewery", "evil": "x"},
                                   lambda bid: True)
    assert "type" not in result.values and "evil" not in result.values


@pytest.mark.parametrize("field, value, needle", [
    ("beer_name", "", "Name is required"),
    ("beer_name", "   ", "Name is required"),
    ("beer_name", "x" * 101, "too long"),
    ("beer_description", "x" * 4001, "too long"),
    ("beer_abv", "strong", "must be a number"),
    ("beer_abv", "nan", "finite"),
    ("beer_abv", "inf", "finite"),
    ("beer_abv", "101", "between 0 and 100"),
    ("beer_abv", "-1", "between"),
    ("beer_upc", "1.5", "whole number"),
    ("beer_brewery_id", "", "Brewery ID is required"),
    ("beer_brewery_id", "nope", "was not found"),
])
def test_bad_beer_input_is_a_field_error(field, value, needle):
    result = normalize_beer_fields({**GOOD_BEER, field: value}, lambda bid: bid == "b")
    assert not result.ok
    assert any(needle in message for message in result.errors.values()), result.errors


def test_brewery_form_reads_address_lines_and_checks_the_website():
    form = {"brewery_name": "Yard", "brewery_address": "1 Main St\n\n  Suite 2 \n",
            "brewery_website": "https://example.org/"}
    result = normalize_brewery_fields(form)
    assert result.ok and result.values["address"] == ["1 Main St", "Suite 2"]
    bad = normalize_brewery_fields({**form, "brewery_website": "javascript:alert(1)"})
    assert "website" in bad.errors
    many = normalize_brewery_fields({**form, "brewery_address": "a\nb\nc\nd\ne"})
    assert "address" in many.errors
