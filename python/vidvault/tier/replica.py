"""The replica of a store's metadata in its bucket: without it, a store
whose disk died leaves ciphertext nobody can decrypt or list by time.

At an upload round where something changed, at most every
``MIN_SNAPSHOT_INTERVAL_S`` (and at every ``tier sync``), one *snapshot* goes to ``[PREFIX/]STORE-ID/meta/``
(docs/STORAGE.md, "Object layout"; bytes in docs/FORMAT.md section 8.1):

1. ``ledger.sqlite``, then ``catalog.sqlite``: consistent copies (SQLite's
   backup API, never a copy of a live file), the ledger first, so every
   upload it records is of a segment the catalog lists;
2. ``keys.vvk``, after the catalog: every segment the catalog lists has its
   day key in it (a key is durable before any segment uses it);
3. ``audit.sqlite``, after the keystore: the log copied reaches the audit
   head the keystore recorded, so the restored store opens;
4. ``files.json``: the small files (marker, policy mirrors, tombstones,
   each camera.json, tier.json, which never holds credentials);
5. last, the *manifest* naming each blob's size and SHA-256, signed with
   the store's export key: a snapshot cut short has no manifest and is
   never the one restored.

The bucket is not trusted. The core seals each blob (AES-256-GCM, bound to
the store, the snapshot's seq and the file's name; src/replica.rs): the
keystore's under the master key, the others under the replica key the
keystore holds. Nothing in ``meta/`` is plaintext but the manifest, which
names only the store, the seq, the time and the blobs.

Between two snapshots, each round sends the snapshot's *tail*
(replica_tail.py): the audit entries and the keystore changes since, so a
disk that dies between snapshots loses neither. A change of policy (a
legal hold, retention, a camera's settings, the tier) lives in the catalog,
which a tail does not carry: it makes the next snapshot due after
``URGENT_SNAPSHOT_INTERVAL_S`` instead of ``MIN_SNAPSHOT_INTERVAL_S``.

Only the newest ``KEEP_SNAPSHOTS`` snapshots stay in the bucket (with their
tails): an older keystore copy still holds the day keys retention shredded
since."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import TierError
from .ledger import LEDGER_FILE
from .replica_tail import TailSender
from .retire import delete_every_version
from .s3 import S3Tier, why

REPLICA_FORMAT = "vidvault-replica"
REPLICA_VERSION = 1
KEEP_SNAPSHOTS = 2
#: Least time between two snapshots sent by a live store's upload rounds
#: (`tier sync` sends one at once): each is a whole copy of the catalog and
#: audit log, so a store that changes every round must not upload them every
#: round. Segments uploaded meanwhile are found by a restore all the same
#: (listed, and indexed from their own header and footer).
MIN_SNAPSHOT_INTERVAL_S = 300.0
#: Least time between two snapshots when policy changed (URGENT_FILES): a
#: hold placed must reach the bucket within seconds, and a burst of changes
#: (cameras added one by one) must not send a whole catalog every round.
URGENT_SNAPSHOT_INTERVAL_S = 10.0
#: Largest metadata a snapshot is made of: it is copied and sealed in memory.
#: Beyond it the round fails loudly (the tier's alarm) rather than exhaust
#: memory: a store that large needs an incremental replica, not built.
MAX_SNAPSHOT_BYTES = 2 << 30
#: The files whose size and modification time say whether the metadata changed.
WATCHED_FILES = ("catalog.sqlite", "catalog.sqlite-wal", "audit.sqlite", "audit.sqlite-wal", LEDGER_FILE,
                 f"{LEDGER_FILE}-journal", "keys.vvk", *("VIDVAULT", "retention.json", "holds.json",
                                                         "tombstones.jsonl", "tier.json"))
META_DIR = "meta"
MANIFESTS_DIR = "meta/manifests"
MANIFEST_SUFFIX = ".vvm"
#: The small files of a store that go in ``files.json`` (plus each camera.json).
SMALL_FILES = WATCHED_FILES[-5:]
CAMERA_FILES = "segments/*/camera.json"
#: Files whose change is a change of policy: the catalog holds it (and the
#: open store rewrites these mirrors from the catalog), so only a snapshot
#: carries it. Tombstones are not among them: retention writes them all day.
URGENT_FILES = ("retention.json", "holds.json", "tier.json")


@dataclass(frozen=True)
class Sealer:
    """The core's sealing of replica blobs (the keys stay in the core):
    ``keystore(seq)`` seals the keystore file, ``blob(seq, name, bytes)``
    any other file, ``keystore_tail(seq, name)`` the keystore file for a
    tail (under the replica key)."""

    keystore: Callable[[int], bytes]
    blob: Callable[[int, str, bytes], bytes]
    sign: Callable[[bytes], bytes]
    keystore_tail: Callable[[int, str], bytes]


def manifest_key(tier: S3Tier, store_id: str, seq: int) -> str:
    return tier.object_key(store_id, f"{MANIFESTS_DIR}/{seq:020d}{MANIFEST_SUFFIX}")


def blob_key(tier: S3Tier, store_id: str, seq: int, name: str) -> str:
    return tier.object_key(store_id, f"{META_DIR}/{seq:020d}/{name}")


def tail_names(client: Any, tier: S3Tier, store_id: str, seq: int) -> list[str]:
    """The names (``tail/...``) of the objects of snapshot ``seq``'s tail."""
    head = blob_key(tier, store_id, seq, "")
    names = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=tier.bucket, Prefix=head + "tail/"):
        names += [obj["Key"][len(head):] for obj in page.get("Contents", [])]
    return names


def manifest_message(payload: bytes) -> bytes:
    """What the export key signs (src/replica.rs MANIFEST_TAG)."""
    return b"vidvault/replica-manifest/v1\n" + payload


def sqlite_copy(path: Path, query: str | None = None) -> tuple[bytes, Any]:
    """A consistent copy of a live SQLite database (WAL or not), through
    SQLite's backup API into memory: nothing plaintext is written. With
    ``query``, also its first value in the copy (a serialized WAL database
    does not open in memory again, so it is asked before)."""
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    dst = sqlite3.connect(":memory:")
    try:
        src.backup(dst)
        return dst.serialize(), dst.execute(query).fetchone()[0] if query else None
    finally:
        src.close()
        dst.close()


def small_files(root: Path) -> bytes:
    """``files.json``: {relative path: base64 of the bytes}, sorted."""
    found = {name: root / name for name in SMALL_FILES if (root / name).is_file()}
    for p in sorted(root.glob(CAMERA_FILES)):
        found[p.relative_to(root).as_posix()] = p
    doc = {rel: base64.b64encode(p.read_bytes()).decode() for rel, p in sorted(found.items())}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def copy_ledger_and_catalog(root: Path) -> tuple[bytes, bytes]:
    """The ledger, then the catalog: every upload the ledger copy records is
    of a segment the catalog copy lists."""
    ledger, _ = sqlite_copy(root / LEDGER_FILE)
    return ledger, sqlite_copy(root / "catalog.sqlite")[0]


def list_seqs(client: Any, tier: S3Tier, store_id: str) -> list[int]:
    """The seqs of the snapshots whose manifest is in the bucket, oldest first."""
    head = manifest_key(tier, store_id, 0).rsplit("/", 1)[0] + "/"
    seqs = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=tier.bucket, Prefix=head):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(head):]
            if name.endswith(MANIFEST_SUFFIX) and name[: -len(MANIFEST_SUFFIX)].isdigit():
                seqs.append(int(name[: -len(MANIFEST_SUFFIX)]))
    return sorted(seqs)


def put(client: Any, tier: S3Tier, key: str, body: bytes) -> None:
    """One PUT the server verifies against our SHA-256 (BadDigest otherwise)."""
    client.put_object(Bucket=tier.bucket, Key=key, Body=body, ContentType="application/octet-stream",
                      ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode())


class Replicator:
    """Uploads a snapshot when the store's metadata changed since the last
    one this process sent (``force``: always, as ``tier sync`` does), and
    the snapshot's tail at the rounds between."""

    def __init__(self, root: Path, store_id: str, tier: S3Tier, sealer: Sealer,
                 min_interval_s: float = MIN_SNAPSHOT_INTERVAL_S) -> None:
        self.root, self.store_id, self.tier, self.sealer = root, store_id, tier, sealer
        self.min_interval_s = min_interval_s
        self._last_signature: tuple | None = None
        self._last_sent: float | None = None  # time.monotonic() of this process's last snapshot
        self._tail: TailSender | None = None  # the tail of this process's last snapshot
        #: Tails sent since this process started (each (snapshot seq, tail number)).
        self.tails_sent: list[tuple[int, int]] = []

    def replicate(self, client: Any, force: bool = False) -> int | None:
        """Sends a snapshot if due: something changed since this process's
        last one, and ``min_interval_s`` has passed since it (``force``:
        always, as ``tier sync`` does). Returns its seq (None: not due).
        Raises TierError, naming the bucket, when it cannot."""
        import botocore.exceptions as bx

        signature = self._signature()
        if not force:
            if signature == self._last_signature:
                return None
            if self._last_sent is not None:
                since = time.monotonic() - self._last_sent
                urgent = self._policy(signature) != self._policy(self._last_signature)
                if since < (URGENT_SNAPSHOT_INTERVAL_S if urgent else self.min_interval_s):
                    self._send_tail(client)  # the snapshot follows at a later round
                    return None
        size = sum(n for name, n, _ in signature if name.endswith((".sqlite", "-wal", "-journal")))
        if size > MAX_SNAPSHOT_BYTES:
            raise TierError(f"the store's catalog, audit log and ledger take {size} bytes, more than a snapshot "
                            f"of its metadata may ({MAX_SNAPSHOT_BYTES}): no replica was sent to {self.tier.where}, "
                            "so a restore from the bucket would lack what changed since the last one. A replica "
                            "for stores this large is not built: back the store directory up by other means")
        try:
            existing = list_seqs(client, self.tier, self.store_id)
            seq = (existing[-1] if existing else 0) + 1
            # Taken again, in the order that makes it open (module docstring): the keystore sealed after
            # the catalog copy and before the audit copy.
            ledger, catalog = copy_ledger_and_catalog(self.root)
            keystore_stat = self._keystore_stat()  # before the copy: a change while it is read goes in a tail
            keystore = self.sealer.keystore(seq)
            audit, audit_through = sqlite_copy(self.root / "audit.sqlite", "SELECT coalesce(max(seq), 0) FROM entries")
            files = small_files(self.root)
            taken = [("ledger.sqlite", ledger), ("catalog.sqlite", catalog), ("audit.sqlite", audit),
                     ("files.json", files)]
            blobs = [(n, self.sealer.blob(seq, n, d)) for n, d in taken[:2]]
            blobs.append(("keys.vvk", keystore))
            blobs += [(n, self.sealer.blob(seq, n, d)) for n, d in taken[2:]]
            entries = []
            for name, blob in blobs:
                key = blob_key(self.tier, self.store_id, seq, name)
                put(client, self.tier, key, blob)
                entries.append({"name": name, "key": key, "bytes": len(blob),
                                "sha256": hashlib.sha256(blob).hexdigest()})
            payload = json.dumps({"format": REPLICA_FORMAT, "version": REPLICA_VERSION, "store_id": self.store_id,
                                  "seq": seq, "created_ns": time.time_ns(), "files": entries},
                                 sort_keys=True, separators=(",", ":")).encode()
            signed = self.sealer.sign(manifest_message(payload))
            put(client, self.tier, manifest_key(self.tier, self.store_id, seq),
                payload + b"\n" + signed.hex().encode() + b"\n")
            self._prune(client, [*existing, seq])
        except (bx.BotoCoreError, bx.ClientError, OSError, sqlite3.Error) as e:
            raise TierError(f"the replica of the store's metadata could not be sent to {self.tier.where}: {why(e)}; "
                            "it is sent again at the next upload round") from None
        # Taken before the copies: a change made while they were read is sent by a later round.
        self._last_signature, self._last_sent = signature, time.monotonic()
        self._tail = TailSender(seq, audit_through, keystore_stat)
        return seq

    def _send_tail(self, client: Any) -> None:
        """The tail of this process's last snapshot, if anything was added
        since (replica_tail.py)."""
        if self._tail is None:
            return
        seq = self._tail.seq

        def upload(name: str, blob: bytes) -> str:
            key = blob_key(self.tier, self.store_id, seq, name)
            put(client, self.tier, key, blob)
            return key

        import botocore.exceptions as bx

        try:
            n = self._tail.send(self.root, upload, self.sealer.keystore_tail, self.sealer.blob,
                                self._keystore_stat())
        except (bx.BotoCoreError, bx.ClientError, OSError, sqlite3.Error) as e:
            raise TierError(f"the tail of snapshot {seq} of the store's metadata could not be sent to "
                            f"{self.tier.where}: {why(e)}; it is sent again at the next upload round") from None
        if n is not None:
            self.tails_sent.append((seq, n))

    def _keystore_stat(self) -> tuple[int, int] | None:
        try:
            st = (self.root / "keys.vvk").stat()
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime_ns

    @staticmethod
    def _policy(signature: tuple | None) -> tuple:
        return tuple(f for f in signature or () if f[0] in URGENT_FILES or f[0].endswith("/camera.json"))

    def _signature(self) -> tuple:
        """(file, size, modification time) of every file a snapshot holds:
        a stat of each, so telling whether anything changed costs no copy
        of a catalog that may be gigabytes."""
        paths = [self.root / name for name in WATCHED_FILES] + sorted(self.root.glob(CAMERA_FILES))
        found = []
        for p in paths:
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            found.append((p.relative_to(self.root).as_posix(), st.st_size, st.st_mtime_ns))
        return tuple(found)

    def _prune(self, client: Any, seqs: list[int]) -> None:
        """Deletes snapshots older than the newest KEEP_SNAPSHOTS: the
        manifest first, so a half-deleted snapshot is never restored."""
        for old in seqs[:-KEEP_SNAPSHOTS]:
            delete_every_version(client, self.tier, manifest_key(self.tier, self.store_id, old))
            for name in ("ledger.sqlite", "catalog.sqlite", "keys.vvk", "audit.sqlite", "files.json",
                         *tail_names(client, self.tier, self.store_id, old)):
                delete_every_version(client, self.tier, blob_key(self.tier, self.store_id, old, name))
