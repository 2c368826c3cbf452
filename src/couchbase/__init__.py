"""Couchbase Python client, classic 1.0 API."""
