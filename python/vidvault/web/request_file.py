"""Where the evidence workflow keeps its requests: ``export_requests.sqlite``
in the store (docs/FORMAT.md, section 9), so a pending request, a decision
or an approved package still to be built outlives a restart of the server.

One row per request, written (``synchronous=FULL``) before the step it
records is answered. Never a grant token (the build after a restart waits
for the requester's next signed-in call, :mod:`.export_requests`), never
video (packages are built into memory). The file is created readable by the
store's owner only: cases and reasons are the business of the log's
readers, not of every user of the machine.

A file that is not a database, is damaged, belongs to another store or has
a schema this build does not know is refused with an error naming it:
the server does not start rather than forget requests.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..errors import StorageError, StorageFullError, StoreDamagedError
from ..sqlite_file import open_durable

REQUEST_FILE = "export_requests.sqlite"
SCHEMA_VERSION = 1
STATES = ("pending", "rejected", "building", "ready", "failed")

#: (request field, column, declaration); ``start``, ``end`` and ``case`` are SQL words, hence the columns' names.
_COLUMNS = (
    ("id", "id", "TEXT PRIMARY KEY"),
    ("camera", "camera", "TEXT NOT NULL"),
    ("start", "start_ns", "INTEGER NOT NULL"),
    ("end", "end_ns", "INTEGER NOT NULL"),
    ("raw", "raw", "INTEGER NOT NULL CHECK (raw IN (0, 1))"),
    ("case", "case_name", "TEXT NOT NULL"),
    ("reason", "reason", "TEXT NOT NULL"),
    ("watermark", "watermark", "TEXT"),
    ("requester", "requester", "TEXT NOT NULL"),
    ("approver", "approver", "TEXT NOT NULL"),
    ("grant_id", "grant_id", "TEXT NOT NULL"),
    ("grant_valid_until", "grant_valid_until_ns", "INTEGER NOT NULL"),
    ("created", "created_ns", "INTEGER NOT NULL"),
    ("state", "state", f"TEXT NOT NULL CHECK (state IN ({', '.join(repr(s) for s in STATES)}))"),
    ("decided_by", "decided_by", "TEXT"),
    ("decision_note", "decision_note", "TEXT NOT NULL"),
    ("decided", "decided_ns", "INTEGER"),
    ("error", "error", "TEXT"),
    ("downloads", "downloads", "INTEGER NOT NULL"),
)
FIELDS = tuple(f for f, _, _ in _COLUMNS)
_COLUMN_OF = {f: c for f, c, _ in _COLUMNS}
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE requests (" + ", ".join(f"{c} {d}" for _, c, d in _COLUMNS) + ")",
)


class RequestFile:
    """The requests table of one store; callers serialize their calls."""

    def __init__(self, root: Path, store_id: str) -> None:
        self.path = root / REQUEST_FILE
        try:
            self._db = open_durable(self.path, journal="WAL", mode=0o600)
        except sqlite3.DatabaseError as e:
            raise self._refusal(f"cannot be opened as SQLite ({e})") from e
        try:
            if self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
                self._create(store_id)  # new, or created by a run that died before its first transaction
            else:
                self._check(store_id)
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise self._refusal(f"is damaged ({e})") from e
        except StoreDamagedError:
            self._db.close()
            raise

    def rows(self) -> list[dict[str, Any]]:
        """Every request, oldest first, checked field by field."""
        got = self._db.execute(f"SELECT {', '.join(_COLUMN_OF.values())} FROM requests ORDER BY created_ns, id")
        rows = [dict(zip(FIELDS, r)) for r in got.fetchall()]
        for row in rows:
            self._check_row(row)
            row["raw"] = bool(row["raw"])
        return rows

    def insert(self, values: dict[str, Any]) -> None:
        self._write(values["id"], f"INSERT INTO requests ({', '.join(_COLUMN_OF.values())}) VALUES "
                                  f"({', '.join('?' * len(FIELDS))})", [_sql(values[f]) for f in FIELDS])

    def update(self, request_id: str, **values: Any) -> None:
        """Durable when this returns (autocommit, synchronous=FULL)."""
        sets = ", ".join(f"{_COLUMN_OF[f]} = ?" for f in values)
        self._write(request_id, f"UPDATE requests SET {sets} WHERE id = ?", [*map(_sql, values.values()), request_id])

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ inside

    def _write(self, request_id: str, sql: str, params: list[Any]) -> None:
        """One statement, one transaction; a failure changes nothing and says so (507 on a full disk)."""
        try:
            self._db.execute(sql, params)
        except sqlite3.Error as e:
            full = isinstance(e, sqlite3.OperationalError) and "full" in str(e)
            error = StorageFullError if full else StorageError
            raise error(f"{self.path}: export request {request_id} could not be recorded ({e}); nothing changed: "
                        f"{'free space on that disk' if full else 'check the file and the disk'} and try again",
                        path=str(self.path), errno=None) from e

    def _create(self, store_id: str) -> None:
        self._db.execute("BEGIN IMMEDIATE")  # one transaction: a crash leaves no tables (made again) or all
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.executemany("INSERT INTO meta VALUES (?, ?)",
                             [("schema_version", str(SCHEMA_VERSION)), ("store_id", store_id)])
        self._db.execute("COMMIT")

    def _check(self, store_id: str) -> None:
        problems = [r[0] for r in self._db.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]
        if problems:
            raise self._refusal(f"is damaged (SQLite: {'; '.join(problems[:3])})")
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"meta", "requests"} <= tables:
            raise self._refusal(f"is not a vidvault export request file (tables {sorted(tables)})")
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        version = meta.get("schema_version")
        if version != str(SCHEMA_VERSION):
            raise self._refusal(f"has schema version {version!r}; this vidvault reads version {SCHEMA_VERSION} "
                                "(a newer vidvault wrote it? run that version)")
        if meta.get("store_id") != store_id:
            raise self._refusal(f"belongs to store {meta.get('store_id')!r}, not this store ({store_id})")
        columns = [r[1] for r in self._db.execute("PRAGMA table_info(requests)")]
        if columns != list(_COLUMN_OF.values()):
            raise self._refusal(f"has the columns {columns}, not those of schema version {SCHEMA_VERSION}")
        self.rows()

    def _check_row(self, row: dict[str, Any]) -> None:
        ints = ("start", "end", "raw", "grant_valid_until", "created", "downloads")
        texts = ("id", "camera", "case", "reason", "requester", "approver", "grant_id", "state", "decision_note")
        if (any(type(row[f]) is not int for f in ints) or any(type(row[f]) is not str for f in texts)
                or row["state"] not in STATES or row["end"] <= row["start"]):
            raise self._refusal(f"holds a request that is not valid ({row.get('id')!r})")

    def _refusal(self, what: str) -> StoreDamagedError:
        todo = ("restore it from a backup, or move it aside to start with no requests (the audit log keeps "
                "every request and decision made)")
        return StoreDamagedError(
            f"{self.path} {what}. It holds the export requests and decisions of `vidvault serve`, which does not "
            f"start without them: {todo}", path=str(self.path), offset=None, hint=todo)


def _sql(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value
