"""The request's database connection, borrowed from the app's pool and given back at the end."""

from __future__ import annotations

from typing import Any, Mapping

from flask import current_app, g

from couchbase import Couchbase
from couchbase.exceptions import CouchbaseNetworkError, TimeoutError

POOL_EXTENSION = "beersample.pool"


def connect_db(config: Mapping[str, Any]) -> Any:
    """Open a 1.0 connection to the configured bucket, as the tutorial's connect_db does."""
    return Couchbase.connect(bucket=config["DATABASE"], host=config["HOST"],
                             port=config["PORT"], password=config["PASSWORD"] or None,
                             timeout=config["TIMEOUT"])


def get_db() -> Any:
    """Return this request's connection, borrowing one from the pool on first use."""
    if "db" not in g:
        g.db = current_app.extensions[POOL_EXTENSION].acquire()
        g.db_broken = False
    return g.db


def mark_broken(exc: BaseException) -> None:
    """Remember that the request's connection failed on the network, so it is not reused."""
    if isinstance(exc, (CouchbaseNetworkError, TimeoutError)):
        g.db_broken = True


def release_db(exc: BaseException | None = None) -> None:
    """Give this request's connection back to the pool (teardown handler)."""
    connection = g.pop("db", None)
    if connection is not None:
        broken = g.pop("db_broken", False) or (
            exc is not None and isinstance(exc, (CouchbaseNetworkError, TimeoutError)))
        current_app.extensions[POOL_EXTENSION].release(connection, broken=broken)
