"""The tier a store uses, kept in the store as ``tier.json`` (no secrets:
credentials come from the environment at each run), with the answer of the
Object Lock probe made when it was set, and the store's role: the
``recorder`` that owns the bucket prefix (uploads, retires, replicates), or
a ``reader``, a read-only view another node made of it (``Store.open_remote``)
that only ever reads from the bucket."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import TierError
from ..fsutil import fsync_dir
from .s3 import S3Tier

SETTINGS_FILE = "tier.json"
RECORDER, READER = "recorder", "reader"


def save(root: Path, tier: S3Tier, holds: str, *, role: str = RECORDER) -> None:
    """Writes the settings atomically (write, fsync, rename, fsync dir)."""
    doc: dict[str, Any] = {"version": 1, "kind": "s3", "tier": tier.to_json(), "holds": holds, "role": role}
    tmp = root / (SETTINGS_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, root / SETTINGS_FILE)
    fsync_dir(root)


def load(root: Path) -> tuple[S3Tier, str] | None:
    """The store's tier and its hold guarantee, or None if it has none."""
    path = root / SETTINGS_FILE
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    return S3Tier.from_json(doc["tier"]), doc.get("holds", "")


def role(root: Path) -> str:
    """``reader`` for a read-only view, else ``recorder`` (also for a store
    without a tier, and for settings written before roles: absent means
    recorder)."""
    path = root / SETTINGS_FILE
    if not path.exists():
        return RECORDER
    found = json.loads(path.read_text()).get("role", RECORDER)
    if found not in (RECORDER, READER):
        # Never guessed: a reader taken for a recorder would upload, delete and replicate in the bucket.
        raise TierError(f"{path} names the role {found!r}, neither {RECORDER!r} nor {READER!r}; the store is "
                        "not opened: put back the role it was written with")
    return found
