"""One bucket's SQLite database (WAL): documents, metadata, validation, batched commits.

Durability choice: ``synchronous=FULL``. In WAL mode NORMAL survives a killed process but
may lose the last commits on power loss or an OS crash, because the WAL is only fsynced at
checkpoints. OBSERVE "persisted" is a promise about the disk, so every commit fsyncs the WAL.
The cost is one fsync per *batch* (the flusher group-commits), not per document.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from .errors import CorruptStoreError

log = logging.getLogger("cbserver.storage")

APPLICATION_ID = 0x43425356  # "CBSV": marks the file as a cbserver bucket database
SCHEMA_VERSION = 1
FETCH_CHUNK = 8192
_U64 = 1 << 64
I64_MAX = (1 << 63) - 1
SQLITE_HEADER = b"SQLite format 3\x00"
#: How long a connection waits for another one's write transaction before giving up.
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE docs (
    key BLOB PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    flags INTEGER NOT NULL,
    expiry INTEGER NOT NULL,
    cas INTEGER NOT NULL,
    datatype INTEGER NOT NULL,
    seqno INTEGER NOT NULL
);
CREATE INDEX docs_expiry ON docs(expiry) WHERE expiry != 0;
CREATE TABLE meta (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
"""
#: Rows go in as one multi-row statement per chunk (see :meth:`BucketStore.commit`). An
#: existing key is updated in place (``ON CONFLICT DO UPDATE``), not replaced: ``INSERT OR
#: REPLACE`` deletes the old row and its key index entry and inserts both again, about 40%
#: more SQLite work per row (Callgrind: ~24,000 vs ~17,000 instructions per updated row).
_UPSERT_HEAD = "INSERT INTO docs (key, value, flags, expiry, cas, datatype, seqno) VALUES "
_UPSERT_TAIL = (" ON CONFLICT (key) DO UPDATE SET value = excluded.value, flags = excluded.flags,"
                " expiry = excluded.expiry, cas = excluded.cas, datatype = excluded.datatype,"
                " seqno = excluded.seqno")
_ROW = "(?,?,?,?,?,?,?)"
#: Parameters per document row in :meth:`BucketStore.commit`.
ROW_FIELDS = 7
_PUT_META = "INSERT OR REPLACE INTO meta (namespace, key, value) VALUES (?, ?, ?)"
COUNTERS = "bucket"  # meta namespace holding max_cas / max_seqno


class StoredDoc(NamedTuple):
    """A document row as persisted; ``cas`` and ``seqno`` are unsigned 64-bit."""

    key: bytes
    value: bytes
    flags: int
    expiry: int
    cas: int
    datatype: int
    seqno: int


def to_sql_u64(number: int) -> int:
    """Map an unsigned 64-bit number onto SQLite's signed INTEGER (bit pattern preserved)."""
    return number - _U64 if number > I64_MAX else number


def from_sql_u64(number: int) -> int:
    """Inverse of :func:`to_sql_u64`."""
    return number + _U64 if number < 0 else number


class MetaOp(NamedTuple):
    """A queued write to the metadata table; ``value`` None deletes the entry."""

    namespace: str
    key: str
    value: bytes | None


class BucketStore:
    """The SQLite file of one bucket; used by one thread at a time (open, then the flusher)."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._variable_limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    @classmethod
    def open(cls, path: Path, *, check: bool = True) -> BucketStore:
        """Open or create the database, refusing (CorruptStoreError) a damaged or foreign file.

        ``check=False`` skips the identity and integrity checks: for the writer process,
        which opens a file the server validated moments before.
        """
        existed = path.exists() and path.stat().st_size > 0
        if existed and check:
            _check_header(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise CorruptStoreError(path, f"cannot open the bucket database: {exc}") from None
        try:
            if existed and check:
                _validate(path, conn)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA cache_size=-16000")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if not existed:
                conn.executescript(f"BEGIN; {_SCHEMA} PRAGMA application_id={APPLICATION_ID}; "
                                   f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise CorruptStoreError(path, f"bucket database is damaged: {exc}; move the file "
                                          "away (or restore a backup) to start") from None
        except BaseException:
            conn.close()
            raise
        return cls(path, conn)

    def load(self, now: int, after_seqno: int = 0) -> Iterator[list[StoredDoc]]:
        """Yield the live documents in chunks for warmup, skipping those expired by ``now``
        and those a bucket flush at ``after_seqno`` removed (see :mod:`.flush_marker`)."""
        cursor = self._conn.execute("SELECT key, value, flags, expiry, cas, datatype, seqno "
                                    "FROM docs WHERE (expiry = 0 OR expiry > ?) AND seqno > ?",
                                    (now, after_seqno))
        while rows := cursor.fetchmany(FETCH_CHUNK):
            yield [StoredDoc(bytes(k), bytes(v), f, e, from_sql_u64(c), d, from_sql_u64(s))
                   for k, v, f, e, c, d, s in rows]

    def commit(self, *, truncate: bool, upserts: list, deletes: list, meta: Iterable[MetaOp],
               counters: dict[str, int], purge_before: int | None) -> int:
        """Apply one batch in one transaction and return the number of expired rows purged.

        ``upserts`` is flat, :data:`ROW_FIELDS` parameters per row: key, value, flags,
        expiry, cas, datatype, seqno with SQL-safe integers, and ``deletes`` a list of
        keys. Flat, because rows go in as multi-row statements, whose parameters are
        one flat sequence: the caller fills it column by column without a tuple per row,
        and one statement per chunk means one call instead of one per row (sqlite3
        releases the GIL around every statement step, and a thread that must win it back
        per row crawls). Raises sqlite3.Error on failure, after rolling back, so the
        caller can retry the same batch.
        """
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if truncate:
                conn.execute("DELETE FROM docs")
            purged = 0
            if purge_before is not None:
                purged = conn.execute("DELETE FROM docs WHERE expiry != 0 AND expiry <= ?",
                                      (purge_before,)).rowcount
            for chunk in _chunks(deletes, self._max_rows(1)):
                conn.execute(f"DELETE FROM docs WHERE key IN ({','.join('?' * len(chunk))})",
                             chunk)
            for chunk in _chunks(upserts, self._max_rows(ROW_FIELDS) * ROW_FIELDS):
                rows = len(chunk) // ROW_FIELDS
                conn.execute(_UPSERT_HEAD + ",".join([_ROW] * rows) + _UPSERT_TAIL, chunk)
            for op in meta:
                if op.value is None:
                    conn.execute("DELETE FROM meta WHERE namespace = ? AND key = ?",
                                 (op.namespace, op.key))
                else:
                    conn.execute(_PUT_META, op)
            conn.executemany(_PUT_META, [(COUNTERS, name, str(value).encode())
                                         for name, value in counters.items()])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return purged

    def _max_rows(self, columns: int) -> int:
        """Return how many rows of ``columns`` parameters fit in one statement."""
        return max(1, min(self._variable_limit, 32766) // columns)

    def meta_items(self) -> dict[tuple[str, str], bytes]:
        """Return the whole metadata table (small: counters, design docs, index state)."""
        rows = self._conn.execute("SELECT namespace, key, value FROM meta")
        return {(namespace, key): bytes(value) for namespace, key, value in rows}

    def counter(self, name: str) -> int:
        """Return a persisted counter (``max_cas``, ``max_seqno``), 0 if never written."""
        row = self._conn.execute("SELECT value FROM meta WHERE namespace = ? AND key = ?",
                                 (COUNTERS, name)).fetchone()
        return int(row[0]) if row else 0

    def count(self) -> int:
        """Return the number of document rows on disk."""
        return self._conn.execute("SELECT count(*) FROM docs").fetchone()[0]

    def close(self, checkpoint: bool = True) -> None:
        """Checkpoint the WAL into the main file (a speed-up for the next warmup, not needed
        for durability; skipped with ``checkpoint=False``) and close the connection."""
        try:
            if checkpoint:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("%s: WAL checkpoint at close failed (%s); the WAL is kept and replayed "
                        "at the next start", self.path, exc)
        finally:
            self._conn.close()


def _chunks(rows: list, size: int) -> Iterator[list]:
    """Yield ``rows`` in consecutive slices of at most ``size``."""
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _check_header(path: Path) -> None:
    """Refuse a file that is not an SQLite database before SQLite gets to touch it."""
    with open(path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise CorruptStoreError(path, "not an SQLite database (bad header); it is damaged or "
                                      "foreign: move it away (or restore a backup) to start")


def _validate(path: Path, conn: sqlite3.Connection) -> None:
    """Check identity, schema version and page integrity of an existing database."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if application_id != APPLICATION_ID:
        raise CorruptStoreError(path, f"SQLite database of another application "
                                      f"(application_id {application_id:#x}); refusing to use it")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise CorruptStoreError(path, f"written by a newer cbserver (schema {version}, this one "
                                      f"reads {SCHEMA_VERSION})")
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise CorruptStoreError(path, "integrity check failed: " + "; ".join(problems))
