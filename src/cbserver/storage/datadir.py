"""Layout of the data directory: where each bucket's files live, the process lock, the scan."""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from pathlib import Path

from .commit_log import is_segment_name
from .errors import DataDirLockedError
from .health import StorageHealth

DEFINITIONS_FILE = "buckets.json"
LOCK_FILE = ".lock"
BUCKETS_DIR = "buckets"
KV_DB = "kv.sqlite3"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
FLUSH_MARKER_FILES = ("flushed-seqno", "flushed-seqno.tmp")
KNOWN_BUCKET_FILES = frozenset([KV_DB, *FLUSH_MARKER_FILES]
                               + [KV_DB + suffix for suffix in SQLITE_SIDE_FILES])
#: How long a start waits for the writer processes of a server that died to finish.
STALE_LOCK_WAIT_S = 30.0
_BUCKET_NAME = re.compile(r"[A-Za-z0-9_%.\-]{1,100}")


def default_data_dir() -> Path:
    """Return the per-user data directory (``$XDG_DATA_HOME/cbserver`` or ``~/.local/share``)."""
    base = (os.environ.get("XDG_DATA_HOME")
            or os.path.join(os.path.expanduser("~"), ".local", "share"))
    return Path(base) / "cbserver"


def check_bucket_name(name: str) -> str:
    """Return ``name`` if it is safe as a directory name, else raise ValueError naming it."""
    if not _BUCKET_NAME.fullmatch(name) or name.startswith("."):
        raise ValueError(f"bucket name {name!r} cannot be stored: use letters, digits, _ % . - "
                         "and do not start with a dot")
    return name


class DataDir:
    """A cbserver data directory: ``buckets.json``, ``.lock``, ``buckets/<name>/kv.sqlite3``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()
        self._lock_fd: int | None = None

    @property
    def definitions_path(self) -> Path:
        """Return the path of the bucket definitions file."""
        return self.root / DEFINITIONS_FILE

    def bucket_dir(self, name: str) -> Path:
        """Return the directory that holds the files of bucket ``name``."""
        return self.root / BUCKETS_DIR / check_bucket_name(name)

    def kv_path(self, name: str) -> Path:
        """Return the SQLite database path of bucket ``name``."""
        return self.bucket_dir(name) / KV_DB

    @property
    def lock_fd(self) -> int | None:
        """Return the descriptor holding the lock (writer processes inherit it)."""
        return self._lock_fd

    def acquire(self, stale_wait: float = STALE_LOCK_WAIT_S) -> None:
        """Create the directory and take its exclusive lock so two servers never share it.

        The writer processes of a server hold the lock too. When the server recorded in
        the lock file is dead but the lock is still held, its writers are finishing a
        commit: wait for them (up to ``stale_wait`` seconds) instead of refusing.
        """
        (self.root / BUCKETS_DIR).mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + stale_wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                if _alive(holder) or time.monotonic() > deadline:
                    os.close(fd)
                    raise DataDirLockedError(path, f"data directory is in use by another "
                                                   f"cbserver (pid {holder})") from None
                time.sleep(0.02)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        self._lock_fd = fd

    def release(self) -> None:
        """Release the directory lock (the kernel also drops it when the process dies)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def remove_bucket_files(self, name: str) -> None:
        """Delete every file of bucket ``name``."""
        shutil.rmtree(self.bucket_dir(name), ignore_errors=False)

    def scan(self, defined: set[str], health: StorageHealth) -> None:
        """Report foreign files and orphaned bucket directories as warnings; delete nothing."""
        expected_top = {DEFINITIONS_FILE, DEFINITIONS_FILE + ".tmp", LOCK_FILE, BUCKETS_DIR}
        for entry in sorted(self.root.iterdir()):
            if entry.name not in expected_top:
                health.warning(str(entry), "unexpected entry in the data directory; cbserver "
                                           "does not use it and leaves it alone")
        for entry in sorted((self.root / BUCKETS_DIR).iterdir()):
            if not entry.is_dir():
                health.warning(str(entry), "unexpected file among bucket directories; ignored")
            elif entry.name not in defined:
                health.warning(str(entry), "bucket directory without a bucket definition in "
                                           f"{DEFINITIONS_FILE}; its data is not loaded")
            else:
                for child in sorted(entry.iterdir()):
                    if child.name not in KNOWN_BUCKET_FILES and not is_segment_name(child.name):
                        health.warning(str(child), f"unexpected file in the directory of bucket "
                                                   f"{entry.name!r}; ignored")


def _alive(pid_text: str) -> bool:
    """Return True if the process ``pid_text`` names still exists (unknown counts as alive)."""
    try:
        os.kill(int(pid_text), 0)
    except ValueError:
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
