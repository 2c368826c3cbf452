"""Validation of the beer and brewery forms: form fields in, document fields or errors out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

MAX_NAME = 100
MAX_TEXT = 200
MAX_DESCRIPTION = 4000
MAX_ADDRESS_LINES = 4


@dataclass(frozen=True)
class Field:
    """One form field: its document name, label, kind, size limit and numeric bounds."""

    name: str
    label: str
    kind: str = "text"
    max_length: int = MAX_TEXT
    low: float = 0
    high: float = 0
    required: bool = False


BEER_FIELDS = (
    Field("name", "Name", required=True, max_length=MAX_NAME),
    Field("description", "Description", "textarea", MAX_DESCRIPTION),
    Field("style", "Style"),
    Field("category", "Category"),
    Field("abv", "Alcohol (ABV, %)", "float", 16, 0, 100),
    Field("ibu", "Bitterness (IBU)", "float", 16, 0, 1000),
    Field("srm", "Beer colour (SRM)", "float", 16, 0, 1000),
    Field("upc", "Universal Product Code (UPC)", "int", 16, 0, 10 ** 14 - 1),
    Field("brewery_id", "Brewery ID", required=True),
)

BREWERY_FIELDS = (
    Field("name", "Name", required=True, max_length=MAX_NAME),
    Field("description", "Description", "textarea", MAX_DESCRIPTION),
    Field("address", "Address (one line each)", "lines", MAX_TEXT),
    Field("city", "City"),
    Field("state", "State"),
    Field("code", "Postal code"),
    Field("country", "Country"),
    Field("phone", "Phone"),
    Field("website", "Website", "url", 300),
)


@dataclass
class FormResult:
    """The outcome of reading a form: document fields, and errors keyed by field name."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Tell whether the form can be stored."""
        return not self.errors


def _number(spec: Field, raw: str) -> tuple[Any, str | None]:
    """Parse a numeric field; empty means 0, as in the sample data."""
    if not raw:
        return (0 if spec.kind == "int" else 0.0), None
    try:
        value = int(raw) if spec.kind == "int" else float(raw)
    except ValueError:
        whole = "a whole number" if spec.kind == "int" else "a number"
        return None, f"{spec.label} must be {whole}, not {raw!r}."
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"{spec.label} must be a finite number."
    if not spec.low <= value <= spec.high:
        return None, f"{spec.label} must be between {spec.low:g} and {spec.high:g}."
    return value, None


def _read(spec: Field, raw: str) -> tuple[Any, str | None]:
    """Read one field's raw text into its document value, or an error message."""
    raw = raw.strip()
    if spec.kind in ("float", "int"):
        if len(raw) > spec.max_length:
            return None, f"{spec.label} is too long."
        return _number(spec, raw)
    if spec.kind == "lines":
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        if len(lines) > MAX_ADDRESS_LINES:
            return None, f"{spec.label} has more than {MAX_ADDRESS_LINES} lines."
        if any(len(line) > spec.max_length for line in lines):
            return None, f"{spec.label}: each line holds at most {spec.max_length} characters."
        return lines, None
    if len(raw) > spec.max_length:
        return None, (f"{spec.label} is too long ({len(raw)} characters; "
                      f"at most {spec.max_length}).")
    if spec.required and not raw:
        return None, f"{spec.label} is required."
    if spec.kind == "url" and raw and urlsplit(raw).scheme.lower() not in ("http", "https"):
        return None, f"{spec.label} must start with http:// or https://."
    return raw, None


def read_form(form: Mapping[str, str], prefix: str, fields: tuple[Field, ...]) -> FormResult:
    """Read the `<prefix>_<field>` inputs of `form`; unknown inputs are ignored."""
    result = FormResult({})
    for spec in fields:
        value, error = _read(spec, form.get(f"{prefix}_{spec.name}", ""))
        if error:
            result.errors[spec.name] = error
            result.values[spec.name] = form.get(f"{prefix}_{spec.name}", "")
        else:
            result.values[spec.name] = value
    return result


def normalize_beer_fields(form: Mapping[str, str],
                          brewery_exists: Callable[[str], bool]) -> FormResult:
    """Validate a beer form; the brewery it names must exist."""
    result = read_form(form, "beer", BEER_FIELDS)
    brewery_id = result.values.get("brewery_id")
    if "brewery_id" not in result.errors and not brewery_exists(brewery_id):
        result.errors["brewery_id"] = f"Brewery ID {brewery_id!r} was not found."
    return result


def normalize_brewery_fields(form: Mapping[str, str]) -> FormResult:
    """Validate a brewery form."""
    return read_form(form, "brewery", BREWERY_FIELDS)
