"""Child process of the eviction crash test: opens the store, runs one tier
round, and stops for good (the parent kills it) right after the first
segment is marked remote-only and before its file is unlinked."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import vidvault
from vidvault.tier import evict

path, key = Path(sys.argv[1]), bytes.fromhex(sys.argv[2])
real_unlink = evict.unlink_durably


def unlink_then_hang(p: Path) -> None:
    print(f"marked {p.relative_to(path)}", flush=True)
    time.sleep(3600)  # killed here: marked in the ledger, file still on disk


evict.unlink_durably = unlink_then_hang
with vidvault.Store.open(path, key=key, tier_uploads=False) as store:
    print("go", flush=True)
    store.sync_tier()
