"""Per-connection state of a KV client: the bucket it works on and what it negotiated."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cbserver.engine import Bucket

if TYPE_CHECKING:
    from cbserver.server import Server


class Session:
    """What one KV connection has authenticated, selected and negotiated.

    ``bucket`` is the bucket chosen by SASL or SELECT_BUCKET; while it is None the
    connection works on the ``default`` bucket if that bucket has no password (the 2.x
    rule), and data operations are refused otherwise.  ``selected`` is True once the client
    chose a bucket with SELECT_BUCKET (the modern way); ``xerror`` and ``select_bucket``
    record those HELLO features.
    """

    __slots__ = ("server", "bucket", "admin", "json", "mutation_seqno", "xerror", "select_bucket",
                 "selected", "sasl", "peer_host", "closing")

    def __init__(self, server: "Server", peer_host: str) -> None:
        self.server = server
        self.bucket: Bucket | None = None
        self.admin = False
        self.json = False
        self.mutation_seqno = False
        self.xerror = False
        self.select_bucket = False
        self.selected = False
        self.sasl: tuple[str, Any] | None = None
        self.peer_host = peer_host
        self.closing = False

    def data_bucket(self) -> Bucket | None:
        """The bucket data operations act on, or None if the connection may use none."""
        bucket = self.bucket
        if bucket is not None:
            return bucket
        default = self.server.buckets.get("default")
        if default is not None and not default.password:
            return default
        return None

    def may_use(self, bucket: Bucket) -> bool:
        """True when this connection may select ``bucket`` without further SASL."""
        return self.admin or not bucket.password or self.bucket is bucket
