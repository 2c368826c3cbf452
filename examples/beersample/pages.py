"""Helpers shared by the page handlers: error pages, JSON answers, form arguments."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, render_template, request

MAX_SEARCH_LENGTH = 100


def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    """Render the error page with a message for a person, and the status code."""
    return render_template("error.html", title=title, message=message, status=status), status


def json_response(payload: Any, status: int = 200) -> Response:
    """Answer with a JSON body (the tutorial's return_search_json)."""
    return current_app.response_class(json.dumps(payload, ensure_ascii=False), status=status,
                                      mimetype="application/json")


def wants_json() -> bool:
    """Tell whether the caller is the page script asking for JSON rather than a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def search_value() -> str | None:
    """Return the `value` search argument, or None when it is too long to be a name."""
    value = request.args.get("value", "")
    if len(value) > MAX_SEARCH_LENGTH:
        return None
    return value


def form_cas() -> int | None:
    """Return the CAS the edit form was rendered with, or None when it is missing or bad."""
    raw = request.form.get("cas", "")
    if not raw.isdigit() or len(raw) > 20:
        return None
    value = int(raw)
    return value if 0 < value < 1 << 64 else None


def per_page() -> int:
    """Return how many rows a list page shows (ENTRIES_PER_PAGE)."""
    return current_app.config["ENTRIES_PER_PAGE"]


def stale() -> Any:
    """Return the view staleness the app queries with (VIEW_STALE)."""
    return current_app.config["VIEW_STALE"]
