"""The SDK 4 side of ``benchmarks.sdk4_compare``, run under ``.venv-sdk4/bin/python``.

Argument: {"host", "kv_port", "user", "password", "bucket", "seconds", "batch", "threads",
"value"}.  Prints one JSON object {workload: rate} for the same workloads as the classic
client, with threads sharing one Cluster (the SDK's recommended use; its I/O runs on its
own C++ threads).
"""
from __future__ import annotations

import json
import sys
from datetime import timedelta

from _throughput import best_rate
from couchbase.auth import PasswordAuthenticator
from couchbase.cluster import Cluster
from couchbase.options import ClusterOptions


def main() -> None:
    """Connect, prepare the keys, time each workload, print the rates."""
    args = json.loads(sys.argv[1])
    cluster = Cluster(f"couchbase://{args['host']}:{args['kv_port']}",
                      ClusterOptions(PasswordAuthenticator(args["user"], args["password"])))
    cluster.wait_until_ready(timedelta(seconds=20))
    collection = cluster.bucket(args["bucket"]).default_collection()
    value, batch, seconds = args["value"], args["batch"], args["seconds"]
    report = {}
    for threads in args["threads"]:
        single = [f"sdk4-{threads}-{t}" for t in range(threads)]
        batches = [{f"sdk4-{threads}-{t}-{i}": value for i in range(batch)}
                   for t in range(threads)]
        for key in single:
            collection.upsert(key, value)
        for items in batches:
            collection.upsert_multi(items)
        report[f"set/{threads}"] = best_rate(
            [lambda k=k: collection.upsert(k, value) for k in single], seconds)
        report[f"get/{threads}"] = best_rate(
            [lambda k=k: collection.get(k).content_as[str] for k in single], seconds)
        report[f"set_multi/{threads}"] = best_rate(
            [lambda b=b: collection.upsert_multi(b) for b in batches], seconds, batch)
        report[f"get_multi/{threads}"] = best_rate(
            [lambda b=list(b): [r.content_as[str] for r in
                                collection.get_multi(b).results.values()]
             for b in batches], seconds, batch)
    cluster.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
