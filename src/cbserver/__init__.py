"""cbserver: a single-node, Couchbase 2.x-compatible server (KV, REST bootstrap, views).

Start it from the command line (``cbserver``) or in-process with
:class:`cbserver.embedded.EmbeddedServer`.
"""
__version__ = "2.5.1-cbserver-1.0.0"
