"""The 8091-style REST API: pools, bucket configs (one-shot and streaming), bucket admin."""
