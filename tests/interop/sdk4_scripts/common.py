"""Shared by the SDK 4 scripts: connect with default options and report results as JSON.

These scripts run under ``.venv-sdk4/bin/python`` (the official ``couchbase`` 4.6.3), never
under the project venv, whose ``couchbase`` package is the 1.0 client.
"""
from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any

from couchbase.auth import PasswordAuthenticator
from couchbase.cluster import Cluster
from couchbase.options import ClusterOptions, ClusterTimeoutOptions


def arguments() -> dict[str, Any]:
    """The JSON object the test passed as the only command-line argument."""
    return json.loads(sys.argv[1])


def connect(args: dict[str, Any]) -> Cluster:
    """A Cluster on the cbserver KV port with default options (so SCRAM-SHA512 auth)."""
    timeouts = ClusterTimeoutOptions(bootstrap_timeout=timedelta(seconds=15),
                                     kv_timeout=timedelta(seconds=args.get("kv_timeout", 2.5)))
    options = ClusterOptions(PasswordAuthenticator(args["user"], args["password"]),
                             timeout_options=timeouts)
    cluster = Cluster(f"couchbase://{args['host']}:{args['kv_port']}", options)
    cluster.wait_until_ready(timedelta(seconds=15))
    return cluster


def error_name(exc: BaseException) -> str:
    """The SDK exception class name the test asserts on."""
    return type(exc).__name__


def emit(report: dict[str, Any]) -> None:
    """Print the report for the test to parse."""
    json.dump(report, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
