"""Eviction: giving up the local file of a sealed segment the bucket holds.

A segment's local file goes only when all of these hold:

- its upload is confirmed: the ledger has its row *and*, now, a HEAD of the
  object shows the size and checksum of the local file, whose SHA-256 is
  still the one recorded at upload (a changed local file or a changed
  object keeps the local copy);
- ``keep_local`` has passed since the upload was confirmed (the ledger's
  ``uploaded_ns``), so a segment uploaded late, after an outage, still
  stays that long on disk;
- it is under no active legal hold, unless the object itself carries an
  S3 Object Lock legal hold (its HEAD says so) on a bucket whose probe
  found holds enforced (legal_hold.py places them); on any other bucket a
  held segment keeps its local copy.

Under disk pressure (:func:`evict_for_space`, called by the core before it
deletes footage) the same checks apply, but not ``keep_local``.

The order is crash-safe: the ledger marks the segment remote-only (durable)
before the file is unlinked. A kill between the two leaves a marked segment
whose file is still there: reads use the local file (the core tries it
first) and the next round finishes the unlink (:func:`finish_evictions`).
The reverse order could leave a segment with neither a local file nor a
record saying where it went."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import TierError
from ..fsutil import fsync_dir
from ..timeutil import duration_ns
from .ledger import Ledger
from .s3 import HOLDS_BY_BUCKET, S3Tier, why
from .upload import confirmed_object, digest_file


def unlink_durably(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    fsync_dir(path.parent)


def finish_evictions(root: Path, segments: Iterable[Any], uploads: dict[int, Any]) -> int:
    """Unlinks the local files of segments already marked remote-only (an
    eviction a crash interrupted); returns how many it found."""
    evicted = {i for i, u in uploads.items() if u.evicted_ns is not None}
    n = 0
    for seg in segments:
        path = root / seg.path
        if seg.id in evicted and path.exists():
            unlink_durably(path)
            n += 1
    return n


def uploaded_local(segments: Iterable[Any], uploads: dict[int, Any]) -> list[tuple[Any, Any]]:
    """(segment, its upload) for sealed segments with a confirmed upload,
    not yet evicted, oldest first."""
    return sorted(((s, uploads[s.id]) for s in segments
                   if s.state == "sealed" and s.id in uploads and uploads[s.id].evicted_ns is None),
                  key=lambda su: su[0].id)


def evictable(segments: Iterable[Any], uploads: dict[int, Any], tier: S3Tier, now_ns: int) -> list[tuple[Any, Any]]:
    """Those of :func:`uploaded_local` uploaded longer than ``keep_local``
    ago: the candidates of a round, before the checks against the bucket."""
    keep = duration_ns(tier.keep_local)
    return [(s, u) for s, u in uploaded_local(segments, uploads) if u.uploaded_ns + keep <= now_ns]


def evict_due(client: Any, tier: S3Tier, root: Path, segments: list[Any], ledger: Ledger, holds: str,
              is_held: Callable[[Any], bool], now_ns: int | None = None) -> tuple[list[int], int, list[int]]:
    """Evicts every segment that may go; returns (evicted ids, bytes freed,
    ids kept local because of a legal hold). Raises TierError if the
    bucket cannot be asked."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    uploads = ledger.uploads()  # read once a round: the ledger changes here only by mark_evicted
    finish_evictions(root, segments, uploads)
    return evict(client, tier, root, evictable(segments, uploads, tier, now_ns), ledger, holds, is_held)


def evict_for_space(client: Any, tier: S3Tier, root: Path, segments: list[Any], ledger: Ledger, holds: str,
                    is_held: Callable[[Any], bool], needed: int) -> tuple[list[int], int, list[int]]:
    """Disk pressure: evicts uploaded segments, oldest first, until
    ``needed`` bytes are freed, without waiting for ``keep_local`` (it
    keeps a local copy for fast reads, not for safety: the bucket has
    confirmed the object). The same checks as :func:`evict_due` otherwise."""
    uploads = ledger.uploads()
    finish_evictions(root, segments, uploads)
    return evict(client, tier, root, uploaded_local(segments, uploads), ledger, holds, is_held, enough=needed)


def evict(client: Any, tier: S3Tier, root: Path, candidates: list[tuple[Any, Any]], ledger: Ledger, holds: str,
          is_held: Callable[[Any], bool], enough: int | None = None) -> tuple[list[int], int, list[int]]:
    """Evicts those of ``candidates`` that pass the checks (until ``enough``
    bytes are freed, if given); returns (evicted ids, bytes freed, ids kept
    local because of a legal hold)."""
    import botocore.exceptions as bx

    evicted, freed, held = [], 0, []
    for seg, upload in candidates:
        if enough is not None and freed >= enough:
            break
        path = root / seg.path
        if not path.exists():
            continue
        held_here = is_held(seg)
        if held_here and holds != HOLDS_BY_BUCKET:
            held.append(seg.id)  # stays local whatever the object says: known before reading the file
            continue
        try:
            want = digest_file(path)
        except OSError:
            continue  # being deleted by retention right now
        if want.sha256 != upload.sha256:
            continue  # the local file is not what was uploaded: keep it (fsck reports it)
        try:
            head = confirmed_object(client, tier, upload.object_key, want)
        except (bx.BotoCoreError, bx.ClientError) as e:
            raise TierError(f"eviction of segment {seg.id}: cannot check {upload.object_key!r} in {tier.where}: "
                            f"{why(e)}; its local copy stays") from None
        if head is None:
            continue  # the object is gone or altered: keep the local copy
        if held_here and head.get("ObjectLockLegalHoldStatus") != "ON":
            held.append(seg.id)
            continue
        ledger.mark_evicted(seg.id)
        unlink_durably(path)
        evicted.append(seg.id)
        freed += want.size
    return evicted, freed, held
