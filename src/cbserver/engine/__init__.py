"""In-memory bucket engine of cbserver: items, CAS, 2.x locks, expiry, memory accounting.

The engine knows nothing of sockets or HTTP; the KV and REST layers call it, and
storage and views subscribe to it.

Mutation subscription contract (storage and the view indexer code against this):

* ``Bucket.subscribe(listener)`` / ``Bucket.unsubscribe(listener)``.
* After every change the bucket calls, synchronously and in mutation order,
  ``listener.on_mutation(bucket, key: bytes, record: Record | None)``: ``record`` is the
  key's new tuple record (layout in :mod:`.item`: value, flags, cas, datatype, seqno,
  expiry, lock expiry), ``None`` means the key was deleted or expired (``bucket.seqno``
  is then the deletion's seqno).  Records are immutable and every mutation stores a new
  one, so listeners may keep them and read them later on any thread; nothing is built
  per mutation for them (``Item.from_record`` gives the object view when one is wanted).
  The bound ``on_mutation`` is looked up once, at ``subscribe``.  A listener that raises
  is logged and the others are still called.  After a flush the bucket calls
  ``listener.on_flush(bucket)``.
* ``Bucket.items()`` returns a snapshot of the live ``(key, Item)`` pairs, safe to
  iterate while the bucket keeps changing; ``Bucket.records_snapshot()`` the raw
  ``(key, record)`` pairs at the cost of one list (what the view indexer takes).
* Items expose ``.key .value .flags .expiry .cas .datatype .seqno``; ``expiry`` is an
  absolute Unix time in seconds, 0 meaning never.  Internally the bucket keeps one
  immutable tuple record per key (``Bucket.records``), which the KV fast path reads
  directly.
* Storage does not subscribe: it attaches a disk queue (:mod:`.disk_queue` says what the
  engine calls) with ``Bucket.attach_disk_queue(queue)``, and the bucket pushes every
  mutation to it (one C call, cheaper than a listener call per write).
* A persistence layer reports progress with ``Bucket.mark_persisted(seqno)``; OBSERVE
  then reports items up to that seqno as persisted.  A bucket nobody persists reports
  every live item as persisted (memory is as durable as it gets).
"""
from .bucket import Bucket, BucketSettings, MutationListener
from .item import Item, Record

__all__ = ["Bucket", "BucketSettings", "Item", "MutationListener", "Record"]
