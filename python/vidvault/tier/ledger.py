"""The tier ledger: which segments are confirmed in the bucket, under which
key, size, SHA-256 and version. A SQLite file in the store
(``tier/ledger.sqlite``, docs/FORMAT.md), written only after the server
confirmed the object (HEAD with its size and checksum), so a crash between
upload and record means one more upload of the same key, never a segment
believed uploaded that is not.

Version 2 adds ``evicted_ns``: set when the segment's local file is given
up (evict.py), *before* the file is unlinked, so a crash in between leaves
a segment marked remote-only whose file is still there: reads use that file
(local first), and the next round finishes the unlink.

Version 3 adds ``legal_hold_ns``: when an S3 Object Lock legal hold was
placed on the object (legal_hold.py), NULL when none is, so a released or
expired hold is lifted from exactly the objects vidvault locked.

Version 4 adds ``block_sha256``: the SHA-256 of each block of the object
(``_core.PARTIAL_COPY_BLOCK`` bytes, the last one shorter), 32 bytes each,
concatenated, taken from the file at upload. With them a read of an
evicted segment fetches only the blocks it needs, each checked
(read_cache.py); a row without them (uploaded before version 4, or
recorded from a HEAD by a restore) is fetched whole."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..sqlite_file import open_durable

LEDGER_FILE = "tier/ledger.sqlite"
LEDGER_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    segment_id   INTEGER PRIMARY KEY,
    object_key   TEXT NOT NULL,
    bytes        INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    version_id   TEXT,
    uploaded_ns  INTEGER NOT NULL,
    evicted_ns   INTEGER,
    legal_hold_ns INTEGER,
    block_sha256 BLOB
);
"""

# In the order of Upload's fields (an upgraded table has its columns in the order they were added).
_COLUMNS = "segment_id, object_key, bytes, sha256, version_id, uploaded_ns, evicted_ns, legal_hold_ns, block_sha256"


@dataclass(frozen=True)
class Upload:
    segment_id: int
    object_key: str
    bytes: int
    sha256: str
    version_id: str | None
    uploaded_ns: int
    #: When the local file was given up (None: a local copy is kept).
    evicted_ns: int | None = None
    #: When vidvault placed an S3 Object Lock legal hold on the object (None: none).
    legal_hold_ns: int | None = None
    #: The SHA-256 of each block of the object, concatenated (None: not known; fetched whole).
    block_sha256: bytes | None = None


class Ledger:
    """Confirmed uploads, and the ``meta`` table: the ledger's version and
    the upload alarm in force (``alarm``), so a reopened store neither
    forgets a raised alarm nor audits it as raised twice."""

    def __init__(self, root: Path) -> None:
        path = root / LEDGER_FILE
        path.parent.mkdir(exist_ok=True)
        self._lock = threading.Lock()
        # A rollback journal, not WAL: the core reads this file from another
        # SQLite library (store/tier_guard.rs), and a WAL it does not share
        # memory with would hide the newest rows from it.
        self._db = open_durable(path, journal="DELETE")
        self._db.executescript(_SCHEMA)
        self._upgrade()

    def _upgrade(self) -> None:
        """Version 1 (no eviction) to 2: the ``evicted_ns`` column, every
        segment local; 2 to 3: ``legal_hold_ns``, no object locked; 3 to 4:
        ``block_sha256``, unknown for what was uploaded before. One
        transaction, so a crash leaves either version."""
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(uploads)")}
        self._db.execute("BEGIN IMMEDIATE")
        if "evicted_ns" not in columns:
            self._db.execute("ALTER TABLE uploads ADD COLUMN evicted_ns INTEGER")
        if "legal_hold_ns" not in columns:
            self._db.execute("ALTER TABLE uploads ADD COLUMN legal_hold_ns INTEGER")
        if "block_sha256" not in columns:
            self._db.execute("ALTER TABLE uploads ADD COLUMN block_sha256 BLOB")
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (str(LEDGER_VERSION),))
        self._db.execute("COMMIT")

    def record(self, segment_id: int, key: str, size: int, sha256: str, version_id: str | None,
               block_sha256: bytes | None = None) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO uploads (segment_id, object_key, bytes, sha256, version_id, "
                             "uploaded_ns, block_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (segment_id, key, size, sha256, version_id, time.time_ns(), block_sha256))

    def mark_evicted(self, segment_id: int) -> None:
        """The segment is remote-only from now on (durable before this
        returns: synchronous=FULL), its local file about to go."""
        with self._lock:
            self._db.execute("UPDATE uploads SET evicted_ns = ? WHERE segment_id = ? AND evicted_ns IS NULL",
                             (time.time_ns(), segment_id))

    def set_legal_hold(self, segment_id: int, placed: bool) -> None:
        """Records that the object's S3 legal hold is now on (or off),
        after the server confirmed the change."""
        with self._lock:
            self._db.execute("UPDATE uploads SET legal_hold_ns = ? WHERE segment_id = ?",
                             (time.time_ns() if placed else None, segment_id))

    def get(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def put(self, name: str, value: str | None) -> None:
        with self._lock:
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (name,))
            else:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def forget(self, segment_id: int) -> None:
        """The segment's object is gone from the bucket (retention)."""
        with self._lock:
            self._db.execute("DELETE FROM uploads WHERE segment_id = ?", (segment_id,))

    def uploads(self) -> dict[int, Upload]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM uploads").fetchall()
        return {r[0]: Upload(*r) for r in rows}

    def upload(self, segment_id: int) -> Upload | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM uploads WHERE segment_id = ?", (segment_id,)).fetchone()
        return None if row is None else Upload(*row)

    def close(self) -> None:
        with self._lock:
            self._db.close()
