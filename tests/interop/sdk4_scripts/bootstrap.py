"""Open a bucket through SDK 4 and report the outcome (success or the exception name).

Argument: {"host", "kv_port", "user", "password", "bucket"}.  Bounded by short bootstrap
and KV timeouts, so a server answering wrongly shows up as a timeout, not a hang.
"""
from __future__ import annotations

from datetime import timedelta

from common import arguments, emit, error_name
from couchbase.auth import PasswordAuthenticator
from couchbase.cluster import Cluster
from couchbase.options import ClusterOptions, ClusterTimeoutOptions


def main() -> None:
    """Connect, open the bucket, read one missing key; report the first failure."""
    args = arguments()
    timeouts = ClusterTimeoutOptions(bootstrap_timeout=timedelta(seconds=10),
                                     kv_timeout=timedelta(seconds=5))
    try:
        cluster = Cluster(f"couchbase://{args['host']}:{args['kv_port']}",
                          ClusterOptions(PasswordAuthenticator(args["user"], args["password"]),
                                         timeout_options=timeouts))
        collection = cluster.bucket(args["bucket"]).default_collection()
        exists = collection.exists("bootstrap-probe-missing").exists
        cluster.close()
        emit({"ok": True, "exists": exists})
    except Exception as exc:  # the test asserts on the exception name
        emit({"ok": False, "error": error_name(exc)})


if __name__ == "__main__":
    main()
