"""The tier a store uses, kept in the store as ``tier.json`` (no secrets:
credentials come from the environment at each run), with the answer of the
Object Lock probe made when it was set."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..fsutil import fsync_dir
from .s3 import S3Tier

SETTINGS_FILE = "tier.json"


def save(root: Path, tier: S3Tier, holds: str) -> None:
    """Writes the settings atomically (write, fsync, rename, fsync dir)."""
    doc: dict[str, Any] = {"version": 1, "kind": "s3", "tier": tier.to_json(), "holds": holds}
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
