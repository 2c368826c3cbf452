"""The memcached binary-protocol front end of cbserver (the 11210-style port).

``connection.KVProtocol`` owns sockets, batching and ordering; the handler modules are
plain functions ``handler(session, frame, bucket) -> bytes | None`` found through the
opcode table in ``dispatch``.
"""
