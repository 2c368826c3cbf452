"""In-memory bucket engine of cbserver: items, CAS, 2.x locks, expiry, memory accounting.

The engine knows nothing of sockets or HTTP; the KV and REST layers call it, and
storage and views subscribe to it.

Mutation subscription contract (storage and the view indexer code against this):

* ``Bucket.subscribe(listener)`` / ``Bucket.unsubscribe(listener)``.
* After every change the bucket calls, synchronously and in mutation order,
  ``listener.on_mutation(bucket, key: bytes, item: Item | None)``; ``None`` means the
  key was deleted or expired.  After a flush it calls ``listener.on_flush(bucket)``.
* ``Bucket.items()`` returns a snapshot of the live ``(key, Item)`` pairs, safe to
  iterate while the bucket keeps changing.
* Items expose ``.key .value .flags .expiry .cas .datatype .seqno``; ``expiry`` is an
  absolute Unix time in seconds, 0 meaning never.  Items handed to listeners are never
  modified afterwards (every mutation builds a new Item), so listeners may keep them.
  Internally the bucket keeps one immutable tuple record per key (``Bucket.records``,
  layout in :mod:`.item`), which the KV fast path reads directly.
* A persistence layer reports progress with ``Bucket.mark_persisted(seqno)``; OBSERVE
  then reports items up to that seqno as persisted.  A bucket nobody persists reports
  every live item as persisted (memory is as durable as it gets).
"""
from .bucket import Bucket, BucketSettings, MutationListener
from .item import Item

__all__ = ["Bucket", "BucketSettings", "Item", "MutationListener"]
