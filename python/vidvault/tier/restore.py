"""`vidvault restore s3://BUCKET/PREFIX DIR`: a working store rebuilt from
the bucket alone, for a recorder whose disk died (docs/STORAGE.md,
"Restore").

The newest snapshot of the store's metadata (replica.py) is checked from
the master key outward: the keystore blob opens only under the master key
(the core, src/replica.rs); that keystore gives the export key, which must
verify the manifest's signature; the manifest gives each blob's size and
SHA-256; each blob opens only as that file of that snapshot of that store.
A newest manifest that fails any check is refused, never skipped for an
older one: skipping would let a bucket writer roll back a hold by spoiling
the newest snapshot. ``snapshot=SEQ`` restores an older one on purpose.

Every segment of the restored store is remote (ledger rows with
``evicted_ns`` set): its footage is read back through the read cache, as
after an eviction. Segment objects the snapshot's catalog does not list
(uploaded after it) are found by listing, fetched whole and catalogued
from their own authenticated header and footer. A segment the catalog
lists but the bucket lacks is reported, never invented."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import TierError, VidvaultError
from . import settings
from .ledger import LEDGER_FILE, Ledger
from .replica import (CAMERA_FILES, REPLICA_FORMAT, REPLICA_VERSION, SMALL_FILES, blob_key, list_seqs, manifest_key,
                      tail_names)
from .replica_tail import TailOutcome, apply_tails, tail_numbers
from .s3 import S3Tier, error_code, why
from .upload import block_digests

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Where each blob of a snapshot goes in the restored store.
BLOB_FILES = {"catalog.sqlite": "catalog.sqlite", "audit.sqlite": "audit.sqlite", "ledger.sqlite": LEDGER_FILE}


@dataclass
class RestoreReport:
    """What a restore rebuilt: the store, the snapshot (seq and when it was
    taken), the segments now read from the bucket, and those the catalog
    lists but the bucket does not hold (``missing``: id, camera)."""

    path: Path
    store_id: str
    snapshot_seq: int
    snapshot_ns: int
    remote_segments: int = 0
    missing: list[tuple[int, str]] = field(default_factory=list)
    #: Segments uploaded after the snapshot (objects its catalog does not
    #: list), catalogued from their own files.
    indexed: list[int] = field(default_factory=list)
    #: Such objects that could not be catalogued: (object key, why).
    unindexed: list[tuple[str, str]] = field(default_factory=list)
    #: What the snapshot's tail added (audit entries and day keys since it).
    tail: TailOutcome = field(default_factory=TailOutcome)
    #: A read-only view (Store.open_remote), not a store that takes over.
    reader: bool = False

    def summary(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.snapshot_ns / 1e9))
        made = "made a read-only view of" if self.reader else "restored"
        lines = [f"{made} store {self.store_id} into {self.path} from snapshot {self.snapshot_seq} (taken {when})",
                 f"{self.tail.tails} tails of it applied: {self.tail.entries} audit entries after the snapshot"
                 + (f", the keystore of tail {self.tail.keystore_from_tail}"
                    if self.tail.keystore_from_tail is not None else ""),
                 f"{self.remote_segments} segments read from the bucket"]
        if self.tail.problem:
            lines.append(f"TAIL STOPS: {self.tail.problem}; the audit entries and day keys of tails "
                         f"{self.tail.not_applied or 'after it'} are not in the restored store")
        for segment_id, camera in self.missing:
            lines.append(f"MISSING: segment {segment_id} of camera {camera!r} is in the catalog but not in the bucket")
        if self.indexed:
            lines.append(f"{len(self.indexed)} of them uploaded after the snapshot, found in the bucket and indexed")
        for key, why in self.unindexed:
            lines.append(f"NOT INDEXED: object {key!r}, which the snapshot's catalog does not list: {why}")
        return "\n".join(lines)


def parse_url(url: str) -> tuple[str, str]:
    """``s3://BUCKET/PREFIX`` -> (bucket, prefix)."""
    m = re.fullmatch(r"s3://([^/]+)/?(.*)", url)
    if m is None:
        raise TierError(f"{url!r} is not a bucket URL: write s3://BUCKET or s3://BUCKET/PREFIX")
    return m.group(1), m.group(2).strip("/")


def empty_directory(directory: Path) -> None:
    """DIR is created mode 0700, or must be an empty directory."""
    if directory.exists():
        if not directory.is_dir() or any(directory.iterdir()):
            raise TierError(f"{directory} is not empty: restore into a new or empty directory (nothing was written)")
        os.chmod(directory, 0o700)
    else:
        directory.mkdir(mode=0o700, parents=True)


def store_ids(client: Any, tier: S3Tier) -> list[str]:
    """The ids of the stores with at least one snapshot under the prefix."""
    head = tier.object_key("", "")
    head = head + "/" if head else ""
    ids = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=tier.bucket, Prefix=head, Delimiter="/"):
        for p in page.get("CommonPrefixes", []):
            name = p["Prefix"][len(head):].rstrip("/")
            if _UUID.fullmatch(name) and list_seqs(client, tier, name):
                ids.append(name)
    return sorted(ids)


def choose_store(client: Any, tier: S3Tier, store_id: str | None, url: str) -> str:
    found = store_ids(client, tier)
    if store_id is not None:
        if store_id not in found:
            raise TierError(f"{url} holds no snapshot of store {store_id}"
                            + (f"; it holds snapshots of {', '.join(found)}" if found else ""))
        return store_id
    if not found:
        raise TierError(f"{url} holds no snapshot of any store's metadata (a store replicates it at each upload "
                        "round once a tier is set, and at `vidvault tier sync`): nothing to restore")
    if len(found) > 1:
        raise TierError(f"{url} holds snapshots of {len(found)} stores: {', '.join(found)}; say which with "
                        "--store-id (store_id=)")
    return found[0]


def get_bytes(client: Any, tier: S3Tier, key: str) -> bytes:
    data: bytes = client.get_object(Bucket=tier.bucket, Key=key)["Body"].read()
    return data


class Snapshot:
    """One snapshot's manifest, parsed but not yet trusted."""

    def __init__(self, store_id: str, seq: int, raw: bytes, where: str) -> None:
        self.store_id, self.seq, self.where = store_id, seq, where
        self.tail = TailOutcome()  # what its tail adds, once applied
        parts = raw.split(b"\n")
        try:
            if len(parts) != 3 or parts[2] != b"":
                raise ValueError("not two lines")
            self.payload, self.signature = parts[0], bytes.fromhex(parts[1].decode())
            doc = json.loads(self.payload)
            self.files = {f["name"]: f for f in doc["files"]}
            self.created_ns = int(doc["created_ns"])
            ok = (doc["format"] == REPLICA_FORMAT and doc["version"] == REPLICA_VERSION
                  and doc["store_id"] == store_id and doc["seq"] == seq)
        except (ValueError, KeyError, TypeError) as e:
            raise self.refused(f"it does not parse ({e})") from None
        if not ok or set(self.files) != {"keys.vvk", *BLOB_FILES, "files.json"}:
            raise self.refused("it does not describe this snapshot of this store")

    def refused(self, why: str) -> TierError:
        return TierError(f"the manifest of snapshot {self.seq} of store {self.store_id} in {self.where} is refused: "
                         f"{why}. It was damaged or edited in the bucket; nothing was restored. An older snapshot "
                         "can be restored on purpose with --snapshot SEQ")

    def blob(self, client: Any, tier: S3Tier, name: str) -> bytes:
        entry = self.files[name]
        data = get_bytes(client, tier, entry["key"])
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise TierError(f"blob {name!r} of snapshot {self.seq} ({entry['key']!r} in {self.where}) is not the one "
                            "its manifest names (edited or swapped in the bucket); nothing was restored")
        return data


def write_small_files(root: Path, files_json: bytes) -> None:
    allowed = re.compile("|".join([*(re.escape(n) for n in SMALL_FILES),
                                   re.escape(CAMERA_FILES).replace(r"\*", r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")]))
    for rel, data in json.loads(files_json).items():
        if not allowed.fullmatch(rel):
            raise TierError(f"the snapshot's small files name {rel!r}, which is not a store file; nothing restored")
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


def restore_files(client: Any, tier: S3Tier, directory: Path, key: bytes, store_id: str, seq: int | None,
                  open_keys: Callable[..., Any]) -> Snapshot:
    """Downloads, checks and decrypts snapshot ``seq`` (None: the newest)
    of ``store_id`` into ``directory``."""
    seqs = list_seqs(client, tier, store_id)
    if seq is None:
        seq = seqs[-1]
    elif seq not in seqs:
        raise TierError(f"{tier.where} holds no snapshot {seq} of store {store_id}; it holds {seqs}")
    snap = Snapshot(store_id, seq, get_bytes(client, tier, manifest_key(tier, store_id, seq)), tier.where)
    keys = open_keys(directory / "keys.vvk", store_id, seq, snap.blob(client, tier, "keys.vvk"), key)
    if not keys.verify_manifest(snap.payload, snap.signature):
        raise snap.refused("its signature does not verify with the store's export key")
    for name, rel in BLOB_FILES.items():
        path = directory / rel
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(keys.open_blob(seq, name, snap.blob(client, tier, name)))
    write_small_files(directory, keys.open_blob(seq, "files.json", snap.blob(client, tier, "files.json")))
    snap.tail, keystore = apply_tails(directory / "audit.sqlite", seq,
                                      tail_numbers([n[len("tail/"):] for n in tail_names(client, tier, store_id, seq)]),
                                      lambda name: get_bytes(client, tier, blob_key(tier, store_id, seq, name)),
                                      keys.open_blob)
    if keystore is not None:  # the newest tail's: day keys created after the snapshot (opened by the store)
        (directory / "keys.vvk").write_bytes(keystore)
    return snap


def bucket_segments(client: Any, tier: S3Tier, store_id: str) -> dict[str, int]:
    """Object key -> size of every segment object of the store."""
    head = tier.object_key(store_id, "segments/")
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=tier.bucket, Prefix=head):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".vvs"):
                found[obj["Key"]] = obj["Size"]
    return found


def adopt_segments(client: Any, tier: S3Tier, store_id: str, segments: list[Any], ledger: Ledger,
                   index: Callable[[str], int], report: RestoreReport) -> None:
    """Every catalogued segment becomes remote-only; a segment uploaded
    after the ledger's copy was taken is recorded from its object's HEAD
    (its bytes are authenticated by the core when read); objects the
    catalog does not list are indexed (index_newer)."""
    in_bucket = bucket_segments(client, tier, store_id)
    uploads = ledger.uploads()
    for seg in segments:
        key = tier.object_key(store_id, seg.path)
        if key not in in_bucket:
            report.missing.append((seg.id, seg.camera))
            continue
        if seg.id not in uploads:
            head = client.head_object(Bucket=tier.bucket, Key=key)
            sha = head.get("Metadata", {}).get("vidvault-sha256", "")
            if not re.fullmatch(r"[0-9a-f]{64}", sha):
                report.missing.append((seg.id, seg.camera))
                continue
            ledger.record(seg.id, key, head["ContentLength"], sha, head.get("VersionId"))
        ledger.mark_evicted(seg.id)
        report.remote_segments += 1
    known = {tier.object_key(store_id, s.path) for s in segments}
    for key in sorted(k for k in in_bucket if k not in known):
        if index_newer(client, tier, store_id, key, ledger, index, report):
            report.remote_segments += 1


def index_newer(client: Any, tier: S3Tier, store_id: str, key: str, ledger: Ledger,
                index: Callable[[str], int], report: RestoreReport) -> bool:
    """A segment object the snapshot's catalog does not list (uploaded
    after it): fetched whole into its place in the store, catalogued by
    the core from its own header and footer (which authenticate it under
    the store's keys), recorded in the ledger, then evicted again. One
    that does not authenticate, or is not this store's, stays in
    ``report.unindexed`` with why."""
    rel = key[len(tier.object_key(store_id, "")) + 1:]
    if not re.fullmatch(r"segments/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}/\d{4}-\d{2}-\d{2}/[0-9a-f]{16}\.vvs", rel):
        report.unindexed.append((key, "not a segment path"))
        return False
    path = report.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    body = get_bytes(client, tier, key)
    path.write_bytes(body)
    try:
        segment_id = index(rel)
    except VidvaultError as e:
        path.unlink()
        report.unindexed.append((key, str(e)))
        return False
    head = client.head_object(Bucket=tier.bucket, Key=key)
    ledger.record(segment_id, key, len(body), hashlib.sha256(body).hexdigest(), head.get("VersionId"),
                  block_digests(body))
    ledger.mark_evicted(segment_id)  # before the unlink, as evict.py does
    path.unlink()
    report.indexed.append(segment_id)
    return True


def highest_segment_id(keys: list[str]) -> int:
    """The highest segment id among object keys ending ``ID.vvs`` (16 hex digits)."""
    ids = [int(m.group(1), 16) for k in keys if (m := re.search(r"/([0-9a-f]{16})\.vvs$", k))]
    return max(ids, default=0)


def restore(url: str, directory: str | os.PathLike[str], key: bytes, *, endpoint: str, store_id: str | None,
            snapshot: int | None, region: str, profile: str | None,
            open_keys: Callable[..., Any],
            finish: Callable[[Path, Callable[..., dict[str, Any]]], None],
            role: str = settings.RECORDER) -> RestoreReport:
    """The restore (module docstring); with ``role`` reader, the same copy
    made as a read-only view (Store.open_remote). ``open_keys``: the core's
    ReplicaKeys.restore; ``finish(path, adopt)``: opens the rebuilt store,
    calls ``adopt(sealed segments, its ledger, the core's
    index_segment_file)``, reserves the segment ids
    through ``ids_through`` (objects not indexed: a new segment must never
    overwrite one) and audits the restore with the other details adopt
    returns (Store.restore)."""
    import botocore.exceptions as bx

    bucket, prefix = parse_url(url)
    tier = S3Tier(endpoint, bucket, prefix=prefix, region=region, profile=profile)
    client = tier.client()
    tier.check(client)  # unreachable, missing bucket, refused credentials: a clear TierError
    root = Path(directory)
    store_id = choose_store(client, tier, store_id, url)
    created = not root.exists()
    empty_directory(root)
    try:
        snap = restore_files(client, tier, root, key, store_id, snapshot, open_keys)
        found = settings.load(root)
        kept = found[0] if found else tier
        settings.save(root, S3Tier(endpoint, bucket, prefix=prefix, region=region, upload_after=kept.upload_after,
                                   keep_local=kept.keep_local, profile=profile,
                                   read_cache_bytes=kept.read_cache_bytes), found[1] if found else "", role=role)
        report = RestoreReport(root, store_id, snap.seq, snap.created_ns, tail=snap.tail,
                               reader=role == settings.READER)

        def adopt(segments: list[Any], ledger: Ledger, index: Callable[[str], int]) -> dict[str, Any]:
            adopt_segments(client, tier, store_id, segments, ledger, index, report)
            made = "read-only view made" if report.reader else "restored"
            return {"reason": f"{made} from snapshot {snap.seq} in {tier.where}", "snapshot_seq": snap.seq,
                    "tails_applied": snap.tail.tails, "tail_entries": snap.tail.entries,
                    "tail_problem": snap.tail.problem,
                    "snapshot_ns": snap.created_ns, "endpoint": endpoint, "bucket": bucket, "prefix": prefix,
                    "remote_segments": report.remote_segments, "missing_segments": [i for i, _ in report.missing],
                    "unindexed_objects": [k for k, _ in report.unindexed], "indexed_segments": report.indexed,
                    "ids_through": highest_segment_id([k for k, _ in report.unindexed])}

        finish(root, adopt)
    except (bx.BotoCoreError, bx.ClientError) as e:
        undo(root, created)
        raise TierError(f"restore from {tier.where} failed: {why(e)} ({error_code(e) or 'no answer'}); "
                        "nothing was restored") from None
    except BaseException:
        undo(root, created)
        raise
    return report


def undo(root: Path, created: bool) -> None:
    """A failed restore leaves nothing: the directory it created, or the
    contents it wrote into the empty directory it was given."""
    if created:
        shutil.rmtree(root, ignore_errors=True)
        return
    for p in root.iterdir():
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
