"""Helpers for view-engine tests: a real engine Bucket wired to a BucketViews."""
import json

from cbserver.engine import Bucket, BucketSettings
from cbserver.views.bucket_views import BucketViews
from cbserver.views.query import parse_query


class Clock:
    """A settable clock for expiry tests (the bucket and the views read it)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_views(time_limit: float = 2.0, memory_limit: int = 64 * 1024 * 1024):
    """Return (bucket, views, clock) with the views subscribed to the bucket."""
    clock = Clock()
    bucket = Bucket(BucketSettings("default"), clock=clock)
    views = BucketViews("default", bucket.num_vbuckets, clock, time_limit, memory_limit)
    bucket.subscribe(views)
    return bucket, views, clock


def put(bucket, key, value, flags=0, exptime=0):
    """SET a document (JSON-encoded unless bytes)."""
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    status, item = bucket.store("set", key.encode(), raw, flags, exptime)
    assert status == 0, status
    return item


def ddoc(views, bucket, name, view_defs):
    """PUT a design document built from {view: map or (map, reduce)}."""
    body = {"views": {v: ({"map": d} if isinstance(d, str) else {"map": d[0], "reduce": d[1]})
                      for v, d in view_defs.items()}}
    return views.put_design(name, json.dumps(body).encode(), bucket.records_snapshot())


def query(views, bucket, name, view, body=None, **params):
    """Drain, run a query and return (result, rows) with rows fully read."""
    text = {k: (v if isinstance(v, str) and k in ("stale", "on_error") or k.endswith("docid")
                else json.dumps(v)) for k, v in params.items()}
    views.drain()
    result = views.query(name, view, parse_query(text, body), len(bucket))
    rows = list(result.rows)
    return result, rows
