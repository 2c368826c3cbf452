"""The Flask application factory of the beer-sample app."""

from __future__ import annotations

import logging
import secrets
from functools import partial
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from couchbase.exceptions import (CouchbaseError, CouchbaseNetworkError, HTTPError,
                                  TimeoutError)

from beersample.beers import BEER
from beersample.breweries import BREWERY, add_beer_search
from beersample.crud import make_blueprint
from beersample.database import POOL_EXTENSION, connect_db, mark_broken, release_db
from beersample.pages import error_page, json_response, wants_json
from beersample.pool import ConnectionPool
from beersample.welcome import welcome_blueprint

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "DATABASE": "beer-sample",
    "HOST": "localhost",
    "PORT": 8091,
    "PASSWORD": None,
    "TIMEOUT": 10.0,
    "ENTRIES_PER_PAGE": 30,
    "VIEW_STALE": False,
    "MAX_CONTENT_LENGTH": 256 * 1024,
}


def create_app(connection_factory: Callable[[], Any] | None = None,
               settings: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; connections come from `connection_factory` or from the settings."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.update(settings or {})
    factory = connection_factory or partial(connect_db, app.config)
    app.extensions[POOL_EXTENSION] = ConnectionPool(factory)

    app.register_blueprint(welcome_blueprint())
    app.register_blueprint(make_blueprint(BEER))
    breweries = make_blueprint(BREWERY)
    add_beer_search(breweries)
    app.register_blueprint(breweries)

    app.before_request(refuse_cross_site_posts)
    app.teardown_request(release_db)
    app.register_error_handler(CouchbaseError, database_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
    return app


def refuse_cross_site_posts() -> Any:
    """Refuse a POST sent by another site's page (the browser's Origin header says so)."""
    if request.method != "POST":
        return None
    origin = request.headers.get("Origin")
    if request.headers.get("Sec-Fetch-Site") == "cross-site" or (
            origin and origin != "null" and urlsplit(origin).netloc != request.host):
        return error_page(403, "Refused", "This form was sent from another web site.")
    return None


def database_error(exc: CouchbaseError) -> Any:
    """Turn a database failure into a 503 page (views missing, server down, timeouts)."""
    mark_broken(exc)
    if isinstance(exc, HTTPError):
        message = ("A view query failed. Are the views set up? "
                   "Run `python -m beersample.views_setup`.")
    elif isinstance(exc, (CouchbaseNetworkError, TimeoutError)):
        message = "The database cannot be reached right now. Try again in a moment."
    else:
        message = f"The database refused the request: {type(exc).__name__}."
    log.warning("%s %s failed: %s", request.method, request.path, exc)
    if wants_json():
        return json_response({"error": message}, 503)
    return error_page(503, "Database problem", message)


def http_error(exc: HTTPException) -> Any:
    """Render 404, 405, 413 and friends as pages of the app."""
    if wants_json():
        return json_response({"error": exc.description}, exc.code or 500)
    return error_page(exc.code or 500, exc.name, exc.description or "")


def unexpected_error(exc: Exception) -> Any:
    """Log a bug and show a polite page instead of a bare traceback."""
    log.exception("%s %s failed", request.method, request.path)
    return error_page(500, "Something went wrong", "The error was logged.")
