"""Which bucket the KV fast path may serve for a connection: the C ``fast_bucket`` and
the Python reference give the same answer for every session state (a chosen bucket, the
open or password-protected ``default`` bucket, none, deleted, warming up), raise alike
and leak no references."""
from __future__ import annotations

import sys

import pytest

from cbserver.engine import Bucket, BucketSettings
from cbserver.kv.state import Session
from cbserver.server import Server, ServerConfig
from support.fast_paths import IMPLEMENTATIONS, fast_bucket_of


def server_with(*names: str) -> Server:
    """An ephemeral, unstarted server holding exactly the buckets ``names``."""
    server = Server(ServerConfig(vbuckets=1, ephemeral=True))
    for name in list(server.buckets):
        server.delete_bucket(name)
    for name in names:
        server.create_bucket(BucketSettings(name, num_vbuckets=1))
    return server


def anonymous(server: Server) -> Session:
    return Session(server, "127.0.0.1")


def chosen(server: Server, name: str) -> Session:
    session = anonymous(server)
    session.bucket = server.buckets[name]
    return session


def deleted(session: Session) -> Session:
    session.data_bucket().deleted = True
    return session


def warming(session: Session) -> Session:
    session.data_bucket().warming_up = True
    return session


def protected(server: Server) -> Server:
    server.buckets["default"].settings.password = "secret"
    return server


#: (case id, session factory, name of the bucket expected, or None)
CASES = [
    ("anonymous-open-default", lambda: anonymous(server_with("default")), "default"),
    ("anonymous-no-default", lambda: anonymous(server_with("other")), None),
    ("anonymous-protected-default", lambda: anonymous(protected(server_with("default"))),
     None),
    ("anonymous-deleted-default", lambda: deleted(anonymous(server_with("default"))), None),
    ("anonymous-warming-default", lambda: warming(anonymous(server_with("default"))), None),
    ("chosen", lambda: chosen(server_with("default", "b"), "b"), "b"),
    ("chosen-protected-default", lambda: chosen(protected(server_with("default")), "default"),
     "default"),
    ("chosen-deleted", lambda: deleted(chosen(server_with("b"), "b")), None),
    ("chosen-warming", lambda: warming(chosen(server_with("b"), "b")), None),
]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("make_session, expected", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_both_implementations_pick_the_same_bucket(implementation, make_session, expected):
    session = make_session()
    bucket = fast_bucket_of(implementation)(session)
    if expected is None:
        assert bucket is None
    else:
        assert bucket is session.server.buckets[expected]


class NoBuckets:
    """A server object without a ``buckets`` attribute."""


class RaisingBucket(Bucket):
    """A bucket whose ``deleted`` flag cannot be read."""

    @property
    def deleted(self) -> bool:
        raise RuntimeError("deleted flag read failed on purpose")

    @deleted.setter
    def deleted(self, value: bool) -> None:
        """Ignored: the flag always fails to read."""


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_errors_propagate_alike(implementation):
    fast_bucket = fast_bucket_of(implementation)
    with pytest.raises(AttributeError, match="buckets"):
        fast_bucket(Session(NoBuckets(), "127.0.0.1"))  # type: ignore[arg-type]
    session = anonymous(server_with())
    session.bucket = RaisingBucket(BucketSettings("raising", num_vbuckets=1))
    with pytest.raises(RuntimeError, match="on purpose"):
        fast_bucket(session)


def test_many_calls_leak_no_references():
    fast_bucket = fast_bucket_of("c")
    sessions = [make() for _, make, _ in CASES]
    objects = [*sessions, *(s.server for s in sessions), *(s.server.buckets for s in sessions),
               *(b for s in sessions for b in s.server.buckets.values())]
    for session in sessions:
        fast_bucket(session)
    before = [sys.getrefcount(each) for each in objects]
    none_before = sys.getrefcount(None)
    for _ in range(20_000):
        for session in sessions:
            fast_bucket(session)
    assert [sys.getrefcount(each) for each in objects] == before
    # None is shared by the whole interpreter: only a leak per call moves it this far.
    assert abs(sys.getrefcount(None) - none_before) < 10_000
