"""Query a 2.x view through SDK 4's ``Bucket.view_query`` (served by cbserver's views port).

Argument: {"host", "kv_port", "user", "password", "bucket", "ddoc", "view", "queries"}, each
query a dict of ViewOptions keywords; ``"order": "descending"`` names the SDK enum.
Output: per query its rows as [id, key, value] and ``total_rows``, or the exception name.
SDK 4.6.3 does not send ``scan_consistency`` for views, so callers use
``"raw": {"stale": "false"}`` for read-your-writes.
"""
from __future__ import annotations

from typing import Any

from common import arguments, connect, emit, error_name
from couchbase.management.views import DesignDocumentNamespace
from couchbase.options import ViewOptions
from couchbase.views import ViewOrdering


def options(query: dict[str, Any]) -> ViewOptions:
    """ViewOptions from JSON, with the ordering enum spelled by name."""
    query = dict(query)
    if query.get("order") == "descending":
        query["order"] = ViewOrdering.DESCENDING
    return ViewOptions(namespace=DesignDocumentNamespace.PRODUCTION, **query)


def main() -> None:
    """Run each query and report rows and metadata."""
    args = arguments()
    cluster = connect(args)
    bucket = cluster.bucket(args["bucket"])
    report = []
    for query in args["queries"]:
        try:
            result = bucket.view_query(args["ddoc"], args["view"], options(query))
            rows = [[row.id, row.key, row.value] for row in result.rows()]
            report.append({"rows": rows, "total_rows": result.metadata().total_rows()})
        except Exception as exc:  # the test asserts on the exception name
            report.append({"error": error_name(exc)})
    cluster.close()
    emit({"results": report})


if __name__ == "__main__":
    main()
