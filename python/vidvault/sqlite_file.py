"""The SQLite files the Python package keeps in a store (the tier ledger,
the web server's export requests), opened one way: autocommit (each
statement its own transaction unless a ``BEGIN`` says otherwise),
``synchronous=FULL`` so a statement that returned is on disk, and the
journal mode asked for, or an error: never a silent fallback to a weaker
one. The core's own databases (catalog, audit log) are opened the same way
by its SQLite library (docs/FORMAT.md)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from .fsutil import fsync_dir

#: How long a statement waits for another connection's write lock before failing.
BUSY_TIMEOUT_S = 10.0


def open_durable(path: Path, *, journal: str, mode: int | None = None) -> sqlite3.Connection:
    """``path`` opened for any thread (callers hold their own lock).
    ``journal``: "WAL" or "DELETE". ``mode``: the permission bits of a file
    created here (its ``-wal`` and ``-shm`` files get the same from SQLite);
    None leaves them to the umask."""
    if mode is not None and not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        os.close(fd)
        fsync_dir(path.parent)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    try:
        got = db.execute(f"PRAGMA journal_mode={journal}").fetchone()[0]
        if got.upper() != journal.upper():
            raise sqlite3.OperationalError(f"{path}: SQLite keeps journal mode {got!r}, not {journal}")
        db.execute("PRAGMA synchronous=FULL")
    except BaseException:
        db.close()
        raise
    return db
