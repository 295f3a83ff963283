"""The read cache: local copies of evicted segments, fetched from the
bucket when a read, seek, play, export or session needs one.

The core opens a segment's own file when it is there (local footage never
waits on the tier) and calls :meth:`ReadCache.fetch` only for a segment
whose file is gone (src/store/remote_source.rs). A fetch downloads the
whole object (the segment file byte for byte: ciphertext, so no plaintext
ever lands on disk) to ``tier/cache/ID.vvs``, checks its size and SHA-256
against the ledger's record of the upload, and only then lets the core
open it (which authenticates every frame on top). The cache is bounded:
after each fetch the least recently used copies go until the total is
under ``read_cache_bytes`` (a copy being read stays readable through its
open handle; a segment bigger than the whole cap is kept alone). Under
disk pressure the cache is the first thing given up (``free_for_pressure``).

Whole objects, not ranged GETs: the core's segment reader reads a local
file, so a fetch brings the full segment (a few MB at the default roll)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Callable

from ..errors import TierError
from .ledger import Ledger
from .s3 import S3Tier, error_code, why

CACHE_DIR = "tier/cache"
_CHUNK = 1 << 20


class ReadCache:
    def __init__(self, root: Path, tier: S3Tier, ledger: Ledger, audit: Callable[[str, str, str], None], *,
                 reader: bool = False) -> None:
        self.dir = root / CACHE_DIR
        self.tier, self.ledger, self._audit = tier, ledger, audit
        self._reader = reader
        self._lock = threading.Lock()  # one fetch at a time; concurrent readers of one segment share it
        self._client: Any = None
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in self.dir.glob("*.part"):  # a fetch a crash interrupted
            stale.unlink(missing_ok=True)

    def path_of(self, segment_id: int) -> Path:
        return self.dir / f"{segment_id}.vvs"

    def fetch(self, segment_id: int) -> str:
        """The path of a verified local copy of segment ``segment_id``'s object."""
        with self._lock:
            upload = self.ledger.upload(segment_id)
            if upload is None or upload.evicted_ns is None:
                raise TierError(f"segment {segment_id} has no local file and no object recorded in "
                                f"{self.tier.where}; `vidvault fsck STORE` reports it")
            path = self.path_of(segment_id)
            if path.exists() and path.stat().st_size == upload.bytes:
                os.utime(path)  # most recently used
                return str(path)
            self._download(segment_id, upload.object_key, upload.bytes, upload.sha256, path)
            self._trim(keep=path)
            return str(path)

    def _download(self, segment_id: int, key: str, size: int, sha256: str, path: Path) -> None:
        import botocore.exceptions as bx

        where = f"segment {segment_id} (object {key!r} in {self.tier.where})"
        part = path.with_suffix(".part")
        digest, got = hashlib.sha256(), 0
        try:
            if self._client is None:
                self._client = self.tier.client()
            body = self._client.get_object(Bucket=self.tier.bucket, Key=key)["Body"]
            with open(part, "wb") as f:
                for chunk in iter(lambda: body.read(_CHUNK), b""):
                    digest.update(chunk)
                    got += len(chunk)
                    f.write(chunk)
        except (bx.BotoCoreError, bx.ClientError) as e:
            part.unlink(missing_ok=True)
            if error_code(e) in ("404", "NoSuchKey") and self._reader:
                raise TierError(f"{where} is missing from the bucket: this read-only view lists it as of its "
                                "snapshot, and the recorder's retention may have deleted it since; open a new "
                                "view (Store.open_remote) to see what the recorder holds now, or `vidvault fsck` "
                                "on the recorder if it should be there") from None
            if error_code(e) in ("404", "NoSuchKey"):
                raise TierError(f"{where} is missing from the bucket: it was deleted behind vidvault's back and "
                                "this store holds no other copy; restore the object from a bucket version or "
                                "backup under that key") from None
            raise TierError(f"cannot read {where}: {why(e)}; the segment lives in the bucket only, so it "
                            "reads again when the bucket answers (nothing was deleted)") from None
        except OSError as e:
            part.unlink(missing_ok=True)
            raise TierError(f"cannot cache {where} in {self.dir}: {e.strerror}") from None
        if got != size or digest.hexdigest() != sha256:
            part.unlink(missing_ok=True)
            self._audit("tier_object_mismatch", "raised", f"{where}: {got} bytes with SHA-256 {digest.hexdigest()}, "
                        f"uploaded as {size} bytes with SHA-256 {sha256}; refused")
            raise TierError(f"{where} does not match its upload: {got} bytes with SHA-256 {digest.hexdigest()}, "
                            f"uploaded as {size} bytes with SHA-256 {sha256}. The object was altered or "
                            "truncated in the bucket; it is not used. Restore it from a bucket version or "
                            "backup under that key (nothing was deleted)")
        os.replace(part, path)

    def _trim(self, keep: Path) -> None:
        """Drops least recently used copies until the cache fits its cap."""
        total = self.size()[1]
        self._drop_oldest(lambda freed: total - freed <= self.tier.read_cache_bytes, keep)

    def free_for_pressure(self, needed: int) -> int:
        """Disk pressure: drops least recently used copies until ``needed``
        bytes are freed (or the cache is empty); returns the bytes freed.
        The copies are only caches of objects the bucket holds."""
        with self._lock:
            return self._drop_oldest(lambda freed: freed >= needed)

    def _drop_oldest(self, enough: Callable[[int], bool], keep: Path | None = None) -> int:
        copies = sorted((p.stat().st_mtime_ns, p) for p in self.dir.glob("*.vvs"))
        freed = 0
        for _, p in copies:
            if enough(freed):
                break
            if p != keep:
                freed += p.stat().st_size
                p.unlink(missing_ok=True)
        return freed

    def drop(self, segment_id: int) -> None:
        """Retention deleted the segment: its cached copy goes too."""
        self.path_of(segment_id).unlink(missing_ok=True)

    def size(self) -> tuple[int, int]:
        """(copies, bytes) in the cache now."""
        sizes = [p.stat().st_size for p in self.dir.glob("*.vvs")]
        return len(sizes), sum(sizes)
