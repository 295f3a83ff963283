"""The tail of a snapshot: what the store's metadata gained since its newest
snapshot in the bucket (replica.py), sent at each upload round between two
snapshots. Snapshots are whole copies, so they go at most every few
minutes; without a tail, a disk that died in between took with it the
audit entries of every retrieval and export since (a promise of the audit
log), and the day keys created since, without which the footage uploaded
meanwhile cannot be decrypted by a restore.

A tail holds the audit entries after the last ones sent (with their
checkpoints and the signed head), and the keystore whenever it changed.
Tail ``N`` of snapshot ``SEQ`` is two objects (docs/FORMAT.md section
8.2): ``meta/SEQ/tail/N.keys.vvk`` when the keystore changed, then
``meta/SEQ/tail/N``, the tail's document, naming the keystore blob's
size and SHA-256. Both are sealed by the core under the replica key, bound
to the store, the snapshot and the tail's number: a tail opens only as
itself, in its place. A restore applies tails 0, 1, 2, ... in order while
each opens and continues the log where the one before ended; the first
that does not is reported, with what is lost, never skipped over.

Taken in this order, as a snapshot is: the keystore first, then the audit
entries, so the log restored always reaches the head the keystore copy
recorded."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

TAIL_FORMAT = "vidvault-replica-tail"
TAIL_VERSION = 1
ENTRY_COLUMNS = ("seq", "ts_ns", "principal", "action", "camera", "footage_start", "footage_end", "outcome",
                 "reason", "case_id", "grant_id", "details", "prev_hash", "hash")
CHECKPOINT_COLUMNS = ("seq", "head_hash", "ts_ns", "signature")
_BLOB_COLUMNS = {"prev_hash", "hash", "head_hash", "signature"}
_TAIL_DOC = re.compile(r"\d{10}")


def tail_blob_name(n: int) -> str:
    """The name tail ``n``'s document is sealed under (and its object's last part)."""
    return f"tail/{n:010d}"


def keystore_blob_name(n: int) -> str:
    return f"tail/{n:010d}.keys.vvk"


def _row(columns: tuple[str, ...], values: tuple[Any, ...]) -> list[Any]:
    return [v.hex() if c in _BLOB_COLUMNS and v is not None else v for c, v in zip(columns, values)]


def _unrow(columns: tuple[str, ...], values: list[Any]) -> tuple[Any, ...]:
    if len(values) != len(columns):
        raise ValueError(f"a row of {len(values)} values where {len(columns)} are expected")
    return tuple(bytes.fromhex(v) if c in _BLOB_COLUMNS and v is not None else v for c, v in zip(columns, values))


def audit_after(audit_path: Path, after_seq: int) -> dict[str, Any] | None:
    """The entries of the live log after ``after_seq``, their checkpoints
    and the signed head, read in one transaction (a consistent view); None
    when there is none."""
    db = sqlite3.connect(f"file:{audit_path}?mode=ro", uri=True, timeout=10.0)
    try:
        db.execute("BEGIN")
        entries = db.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries WHERE seq > ? ORDER BY seq",
                             (after_seq,)).fetchall()
        if not entries:
            return None
        checkpoints = db.execute(f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM checkpoints WHERE seq > ? "
                                 "ORDER BY seq", (after_seq,)).fetchall()
        head = db.execute("SELECT seq, hash, signature FROM head WHERE id = 1").fetchone()
        db.execute("COMMIT")
    finally:
        db.close()
    return {"after_seq": after_seq, "entries": [_row(ENTRY_COLUMNS, e) for e in entries],
            "checkpoints": [_row(CHECKPOINT_COLUMNS, c) for c in checkpoints],
            "head": [head[0], head[1].hex(), head[2].hex()] if head else None}


@dataclass
class TailSender:
    """The tails of one snapshot this process sent: where the audit
    entries sent so far end, the keystore's (size, mtime) when last sent,
    and the next tail's number."""

    seq: int
    audit_through: int
    keystore_stat: tuple[int, int] | None
    next_tail: int = 0

    def send(self, root: Path, put: Callable[[str, bytes], str], seal_keystore: Callable[[int, str], bytes],
             seal: Callable[[int, str, bytes], bytes], keystore_stat: tuple[int, int] | None) -> int | None:
        """Sends the next tail if anything was added since the last; returns
        its number (None: nothing new). ``put(name, blob)`` uploads the
        object ``meta/SEQ/NAME`` and returns its key."""
        n = self.next_tail
        keystore = None
        if keystore_stat != self.keystore_stat:
            blob = seal_keystore(self.seq, keystore_blob_name(n))
            put(keystore_blob_name(n), blob)
            keystore = {"name": keystore_blob_name(n), "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
        audit = audit_after(root / "audit.sqlite", self.audit_through)
        if audit is None and keystore is None:
            return None
        doc = {"format": TAIL_FORMAT, "version": TAIL_VERSION, "seq": self.seq, "tail": n,
               "audit": audit, "keystore": keystore}
        put(tail_blob_name(n), seal(self.seq, tail_blob_name(n),
                                    json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()))
        if audit is not None:
            self.audit_through = audit["entries"][-1][0]
        self.keystore_stat, self.next_tail = keystore_stat, n + 1
        return n


@dataclass
class TailOutcome:
    """What a restore took from a snapshot's tails."""

    tails: int = 0
    entries: int = 0
    keystore_from_tail: int | None = None
    #: Why the tails stop where they do, when it is not because none follow.
    problem: str | None = None
    #: Tail documents in the bucket that were not applied: the refused one
    #: and every one after it (or, when one is missing, those after the gap).
    not_applied: list[int] = field(default_factory=list)


def tail_numbers(names: list[str]) -> list[int]:
    """The numbers of the tail documents among object names under ``tail/``."""
    return sorted(int(n) for n in names if _TAIL_DOC.fullmatch(n))


def apply_tails(audit_path: Path, seq: int, numbers: list[int], fetch: Callable[[str], bytes],
                open_blob: Callable[[int, str, bytes], bytes]) -> tuple[TailOutcome, bytes | None]:
    """Appends the tails of snapshot ``seq`` to the restored log at
    ``audit_path``, in order from tail 0, and returns the outcome and the
    newest keystore they carried (None: the snapshot's stands). Stops at
    the first tail that is missing, does not open, or does not continue
    the log; the outcome says which and what follows it."""
    outcome, keystore = TailOutcome(), None
    db = sqlite3.connect(audit_path)
    try:
        for expected, n in enumerate(numbers):
            if n != expected:
                outcome.problem = f"tail {expected} is not in the bucket (tail {n} is)"
                break
            try:
                doc = json.loads(open_blob(seq, tail_blob_name(n), fetch(tail_blob_name(n))))
                if (doc.get("format"), doc.get("version"), doc.get("seq"), doc.get("tail")) != (
                        TAIL_FORMAT, TAIL_VERSION, seq, n):
                    raise ValueError("it does not describe this tail of this snapshot")
                tail_keystore = None
                if doc["keystore"] is not None:
                    k = doc["keystore"]
                    blob = fetch(k["name"])
                    if k["name"] != keystore_blob_name(n) or len(blob) != k["bytes"] or \
                            hashlib.sha256(blob).hexdigest() != k["sha256"]:
                        raise ValueError("its keystore blob is not the one it names")
                    tail_keystore = open_blob(seq, k["name"], blob)
                added = _append_audit(db, doc["audit"]) if doc["audit"] is not None else 0
            except Exception as e:  # a tail that does not open, parse or continue the log stops here
                db.rollback()
                outcome.problem = f"tail {n} is refused: {e}"
                break
            outcome.tails, outcome.entries = outcome.tails + 1, outcome.entries + added
            if tail_keystore is not None:
                keystore, outcome.keystore_from_tail = tail_keystore, n
        outcome.not_applied = [n for n in numbers if n >= outcome.tails] if outcome.problem else []
    finally:
        db.close()
    return outcome, keystore


def _append_audit(db: sqlite3.Connection, audit: dict[str, Any]) -> int:
    """One tail's entries, checkpoints and head, in one transaction. The
    entries must begin right after the log's last and chain to it (the
    hashes and signatures themselves are verified by the core once every
    tail is applied)."""
    last = db.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    last_seq, last_hash = (last[0], last[1]) if last else (0, bytes(32))
    if audit["after_seq"] != last_seq:
        raise ValueError(f"its entries follow entry {audit['after_seq']}, the log ends at {last_seq}")
    rows = [_unrow(ENTRY_COLUMNS, e) for e in audit["entries"]]
    for row in rows:
        if row[0] != last_seq + 1 or row[12] != last_hash:
            raise ValueError(f"entry {row[0]} does not continue the log after entry {last_seq}")
        last_seq, last_hash = row[0], row[13]
    head = audit["head"]
    if head is None or head[0] != last_seq:
        raise ValueError("its signed head is not its last entry")
    with db:
        db.executemany(f"INSERT INTO entries ({', '.join(ENTRY_COLUMNS)}) VALUES "
                       f"({', '.join('?' * len(ENTRY_COLUMNS))})", rows)
        db.executemany(f"INSERT INTO checkpoints ({', '.join(CHECKPOINT_COLUMNS)}) VALUES (?, ?, ?, ?)",
                       [_unrow(CHECKPOINT_COLUMNS, c) for c in audit["checkpoints"]])
        db.execute("UPDATE head SET seq = ?, hash = ?, signature = ? WHERE id = 1",
                   (head[0], bytes.fromhex(head[1]), bytes.fromhex(head[2])))
    return len(rows)
