"""One stored document: the tuple record the bucket keeps and the Item it hands out."""
from __future__ import annotations

#: What a bucket stores per key: ``(value, flags, cas, datatype, seqno, expiry,
#: lock_expiry)``. A plain tuple is several times cheaper to create and free than an
#: object, and every mutation replaces the record, so records are immutable.
Record = tuple[bytes, int, int, int, int, int, float]
#: Field positions in a :data:`Record`.
VALUE, FLAGS, CAS, DATATYPE, SEQNO, EXPIRY, LOCK_EXPIRY = range(7)


class Item:
    """A document: immutable value and metadata plus the 2.x lock state.

    ``expiry`` is absolute Unix seconds (0 = never); ``lock_expiry`` is the absolute
    time the GET_LOCKED lock ends (0 = not locked).
    """

    __slots__ = ("key", "value", "flags", "expiry", "cas", "datatype", "seqno", "lock_expiry")

    def __init__(self, key: bytes, value: bytes, flags: int, expiry: int, cas: int,
                 datatype: int, seqno: int, lock_expiry: float = 0.0) -> None:
        self.key = key
        self.value = value
        self.flags = flags
        self.expiry = expiry
        self.cas = cas
        self.datatype = datatype
        self.seqno = seqno
        self.lock_expiry = lock_expiry

    @classmethod
    def from_record(cls, key: bytes, record: Record) -> "Item":
        """The Item view of the bucket record stored under ``key``."""
        value, flags, cas, datatype, seqno, expiry, lock_expiry = record
        return cls(key, value, flags, expiry, cas, datatype, seqno, lock_expiry)

    def is_locked(self, now: float) -> bool:
        """True while a GET_LOCKED lock on this item is in force."""
        return self.lock_expiry > now

    def is_expired(self, now: float) -> bool:
        """True once the item's expiry time has passed."""
        return 0 < self.expiry <= now

    def __repr__(self) -> str:
        return (f"Item(key={self.key!r}, flags={self.flags}, expiry={self.expiry}, cas={self.cas}, "
                f"seqno={self.seqno}, value={self.value[:32]!r})")
