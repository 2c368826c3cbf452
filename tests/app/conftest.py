"""Fixtures of the app tests: one cbserver with beer-sample and the views, and the app on it."""

from __future__ import annotations

import itertools
import os
import threading
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from beersample.app import create_app
from beersample.stack import BeerSampleStack

_names = itertools.count()


@pytest.fixture
def unique_name():
    """Return a maker of beer or brewery names no other test of this run uses."""
    return lambda prefix: f"{prefix} {os.getpid()} {next(_names)}"


@pytest.fixture(scope="session")
def stack() -> Iterator[BeerSampleStack]:
    """An in-memory cbserver holding beer-sample with the app's views published."""
    stack = BeerSampleStack(None).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def app(stack: BeerSampleStack):
    """The Flask app connected to the session's cbserver."""
    return create_app(settings=stack.app_settings())


@pytest.fixture
def client(app):
    """A Flask test client (real HTTP semantics, real database behind it)."""
    return app.test_client()


@pytest.fixture
def db(stack: BeerSampleStack):
    """A 1.0 client connection for checking what the app stored."""
    return stack.connect()


@pytest.fixture(scope="session")
def live_app(app) -> Iterator[str]:
    """The app served over real HTTP on a free port from a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="beersample-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(10)
