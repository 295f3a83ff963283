"""Retention across tiers: when retention deletes a segment (its footage
expired: ``max_age``, or ``max_bytes``), its object goes from the bucket
too, every version of it on a versioned bucket.

The store's tombstone journal (``tombstones.jsonl``, docs/FORMAT.md
section 5) says why each deleted segment went. A segment counts as deleted
here only when its tombstone is journaled *and* its catalog row is gone
(the core journals the tombstone before it starts deleting). Segments that
disk pressure deleted keep their object: the footage has not expired, and
the bucket then holds its only copy. The ledger row goes only after the
server confirmed every version deleted, so a crash or an unreachable
bucket means the next round tries again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import TierError
from .ledger import Ledger
from .s3 import S3Tier, why

TOMBSTONES_FILE = "tombstones.jsonl"
#: Tombstone reasons that mean the footage expired (src/retention.rs DeleteReason).
EXPIRED_REASONS = frozenset({"max_age", "max_bytes"})


def expired_segments(root: Path) -> set[int]:
    """Ids of segments retention deleted because their footage expired
    (a torn last line of the journal is ignored, as the core does)."""
    try:
        lines = (root / TOMBSTONES_FILE).read_text().splitlines()
    except FileNotFoundError:
        return set()
    ids = set()
    for line in lines:
        try:
            t = json.loads(line)
        except json.JSONDecodeError:
            continue
        if t.get("reason") in EXPIRED_REASONS:
            ids.add(int(t["id"]))
    return ids


def delete_every_version(client: Any, tier: S3Tier, key: str) -> int:
    """Deletes ``key`` and, on a versioned bucket, each of its versions and
    delete markers; returns how many deletions the server confirmed."""
    versions: list[str | None] = []
    pages = client.get_paginator("list_object_versions").paginate(Bucket=tier.bucket, Prefix=key)
    for page in pages:
        for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if v["Key"] == key:
                versions.append(v.get("VersionId"))
    if not versions:
        versions = [None]  # a server without versioning listings: delete the key itself
    for version in versions:
        extra = {} if version in (None, "null") else {"VersionId": version}
        client.delete_object(Bucket=tier.bucket, Key=key, **extra)
    return len(versions)


def retire_expired(client: Any, tier: S3Tier, root: Path, catalog_ids: Iterable[int], ledger: Ledger,
                   audit: Callable[[str, str, str], None]) -> list[int]:
    """Deletes the objects of expired, deleted segments; returns their ids.
    Raises TierError (naming segment, key and bucket) if the bucket refuses."""
    import botocore.exceptions as bx

    uploads = ledger.uploads()
    present = set(catalog_ids)
    due = sorted(i for i in expired_segments(root) & uploads.keys() if i not in present)
    for segment_id in due:
        key = uploads[segment_id].object_key
        try:
            n = delete_every_version(client, tier, key)
        except (bx.BotoCoreError, bx.ClientError) as e:
            raise TierError(f"retention could not delete {key!r} (segment {segment_id}) from {tier.where}: "
                            f"{why(e)}; it is tried again at the next upload round") from None
        ledger.forget(segment_id)
        audit("tier_object_deleted", "done", f"retention deleted segment {segment_id}: {n} version(s) of {key!r} "
              f"deleted from {tier.where}")
    return due
