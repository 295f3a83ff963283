"""The read cache: local copies of evicted segments, fetched from the
bucket when a read, seek, play, export or session needs one.

The core opens a segment's own file when it is there (local footage never
waits on the tier) and calls :meth:`ReadCache.fetch` only for a segment
whose file is gone (src/store/remote_source.rs). Every copy is the
segment file byte for byte (ciphertext, so no plaintext ever lands on
disk), in one of two forms:

- **Partial** (``tier/cache/ID.partial``), for every upload whose ledger
  row holds the SHA-256 of each block of the object (``block_sha256``,
  ledger version 4): a sparse file of the object's size. The core asks
  for the blocks each read covers as it reads (src/segment/bytes.rs), and
  :meth:`ReadCache._read_range` fetches them with one ranged GET and checks
  each block against its recorded SHA-256 before the core writes it in.
  A seek into an hour-long segment fetches its first and last blocks and
  those around one keyframe, not the hour.
- **Whole** (``tier/cache/ID.vvs``), for uploads recorded without block
  digests (before ledger version 4, or by a restore from a HEAD): one GET
  of the whole object, its size and SHA-256 checked against the ledger's
  record of the upload before the core opens it.

The core authenticates every frame on top, either way. The cache is
bounded: after each fetch the least recently used copies go until the
bytes they hold on disk are under ``read_cache_bytes`` (a copy being read
stays readable through its open handle; a segment bigger than the whole
cap is kept alone). Under disk pressure the cache is the first thing given
up (``free_for_pressure``)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Callable

from .._core import PARTIAL_COPY_BLOCK
from ..errors import TierError
from .ledger import Ledger, Upload
from .s3 import S3Tier, error_code, why

CACHE_DIR = "tier/cache"
_CHUNK = 1 << 20
BLOCK = PARTIAL_COPY_BLOCK
_COPIES = ("*.vvs", "*.partial")


class ReadCache:
    def __init__(self, root: Path, tier: S3Tier, ledger: Ledger, audit: Callable[[str, str, str], None], *,
                 reader: bool = False) -> None:
        self.dir = root / CACHE_DIR
        self.tier, self.ledger, self._audit = tier, ledger, audit
        self._reader = reader
        self._lock = threading.Lock()  # one fetch at a time; concurrent readers of one segment share it
        self._client_lock = threading.Lock()
        self._client: Any = None
        self.dir.mkdir(parents=True, exist_ok=True)
        # A fetch a crash interrupted, and partial copies of another process:
        # which blocks they hold was known only to the handles that read them.
        for stale in [*self.dir.glob("*.part"), *self.dir.glob("*.partial")]:
            stale.unlink(missing_ok=True)

    def path_of(self, segment_id: int) -> Path:
        return self.dir / f"{segment_id}.vvs"

    def partial_path_of(self, segment_id: int) -> Path:
        return self.dir / f"{segment_id}.partial"

    def fetch(self, segment_id: int) -> str | tuple[str, Callable[[int, int], bytes]]:
        """A local copy of segment ``segment_id``'s object: the path of a
        verified whole copy, or (path, read_range) for a partial one."""
        with self._lock:
            upload = self.ledger.upload(segment_id)
            if upload is None or upload.evicted_ns is None:
                raise TierError(f"segment {segment_id} has no local file and no object recorded in "
                                f"{self.tier.where}; `vidvault fsck STORE` reports it")
            path = self.path_of(segment_id)
            if path.exists() and path.stat().st_size == upload.bytes:
                os.utime(path)  # most recently used
                return str(path)
            if _block_digests_fit(upload):
                partial = self.partial_path_of(segment_id)
                try:
                    if not partial.exists():
                        with open(partial, "wb") as f:
                            f.truncate(upload.bytes)  # sparse: no block is on disk until it is fetched
                    os.utime(partial)
                except OSError as e:
                    raise TierError(f"cannot cache segment {segment_id} in {self.dir}: {e.strerror}") from None
                self._trim(keep=partial)
                return str(partial), lambda offset, length: self._read_range(upload, offset, length)
            self._download(segment_id, upload.object_key, upload.bytes, upload.sha256, path)
            self._trim(keep=path)
            return str(path)

    def _where(self, segment_id: int, key: str) -> str:
        return f"segment {segment_id} (object {key!r} in {self.tier.where})"

    def _s3(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self.tier.client()
            return self._client

    def _read_range(self, upload: Upload, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset + length)`` of the upload's object, one
        ranged GET, every block checked against the SHA-256 recorded at
        upload. The core asks block by block (``offset`` a multiple of
        BLOCK, the end one too or the object's end)."""
        import botocore.exceptions as bx

        where = self._where(upload.segment_id, upload.object_key)
        if offset % BLOCK or not (0 < length and offset + length <= upload.bytes) or \
                ((offset + length) % BLOCK and offset + length != upload.bytes):
            raise TierError(f"{where}: a read of bytes {offset}..{offset + length} does not fall on blocks "
                            f"of {BLOCK} bytes of its {upload.bytes}")
        try:
            body = self._s3().get_object(Bucket=self.tier.bucket, Key=upload.object_key,
                                         Range=f"bytes={offset}-{offset + length - 1}")["Body"].read()
        except (bx.BotoCoreError, bx.ClientError) as e:
            raise self._get_failed(e, where) from None
        if len(body) > length:  # a server that ignores Range answers with the whole object
            raise TierError(f"{where}: the server answered a ranged GET of {length} bytes with {len(body)}; it "
                            "does not honour Range requests, which reads of evicted segments need (nothing was "
                            "deleted)")
        digests = upload.block_sha256 or b""
        first = offset // BLOCK
        for i in range(0, length, BLOCK):
            block = body[i:i + BLOCK]
            want = digests[(first + i // BLOCK) * 32:(first + i // BLOCK + 1) * 32]
            expected = min(BLOCK, length - i)
            if len(block) != expected or hashlib.sha256(block).digest() != want:
                at = offset + i
                self.partial_path_of(upload.segment_id).unlink(missing_ok=True)  # nothing of it is kept
                self._audit("tier_object_mismatch", "raised",
                            f"{where}: block at byte {at} ({len(block)} bytes) does not match its upload; refused")
                raise TierError(f"{where} does not match its upload: the {len(block)} bytes at byte {at} have "
                                f"SHA-256 {hashlib.sha256(block).hexdigest()}, uploaded as {expected} bytes with "
                                f"SHA-256 {want.hex()}. The object was altered or truncated in the bucket; it is "
                                "not used. Restore it from a bucket version or backup under that key (nothing "
                                "was deleted)")
        with self._lock:  # the copy is about to hold these bytes too
            self._trim(keep=self.partial_path_of(upload.segment_id), incoming=len(body))
        return body

    def _get_failed(self, e: Exception, where: str) -> TierError:
        if error_code(e) in ("404", "NoSuchKey") and self._reader:
            return TierError(f"{where} is missing from the bucket: this read-only view lists it as of its "
                             "snapshot, and the recorder's retention may have deleted it since; open a new "
                             "view (Store.open_remote) to see what the recorder holds now, or `vidvault fsck` "
                             "on the recorder if it should be there")
        if error_code(e) in ("404", "NoSuchKey"):
            return TierError(f"{where} is missing from the bucket: it was deleted behind vidvault's back and "
                             "this store holds no other copy; restore the object from a bucket version or "
                             "backup under that key")
        if error_code(e) in ("416", "InvalidRange"):
            return TierError(f"{where} is shorter than its upload (a ranged read past its end was refused). "
                             "The object was altered or truncated in the bucket; it is not used. Restore it from "
                             "a bucket version or backup under that key (nothing was deleted)")
        return TierError(f"cannot read {where}: {why(e)}; the segment lives in the bucket only, so it "
                         "reads again when the bucket answers (nothing was deleted)")

    def _download(self, segment_id: int, key: str, size: int, sha256: str, path: Path) -> None:
        import botocore.exceptions as bx

        where = self._where(segment_id, key)
        part = path.with_suffix(".part")
        digest, got = hashlib.sha256(), 0
        try:
            body = self._s3().get_object(Bucket=self.tier.bucket, Key=key)["Body"]
            with open(part, "wb") as f:
                for chunk in iter(lambda: body.read(_CHUNK), b""):
                    digest.update(chunk)
                    got += len(chunk)
                    f.write(chunk)
        except (bx.BotoCoreError, bx.ClientError) as e:
            part.unlink(missing_ok=True)
            raise self._get_failed(e, where) from None
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

    def _trim(self, keep: Path, incoming: int = 0) -> None:
        """Drops least recently used copies until the cache fits its cap,
        with ``incoming`` bytes about to be written into ``keep``."""
        total = self.size()[1] + incoming
        self._drop_oldest(lambda freed: total - freed <= self.tier.read_cache_bytes, keep)

    def free_for_pressure(self, needed: int) -> int:
        """Disk pressure: drops least recently used copies until ``needed``
        bytes are freed (or the cache is empty); returns the bytes freed.
        The copies are only caches of objects the bucket holds."""
        with self._lock:
            return self._drop_oldest(lambda freed: freed >= needed)

    def _drop_oldest(self, enough: Callable[[int], bool], keep: Path | None = None) -> int:
        copies = sorted((p.stat().st_mtime_ns, p) for p in self._copies())
        freed = 0
        for _, p in copies:
            if enough(freed):
                break
            if p != keep:
                freed += _held_bytes(p)
                p.unlink(missing_ok=True)
        return freed

    def drop(self, segment_id: int) -> None:
        """Retention deleted the segment: its cached copy goes too."""
        self.path_of(segment_id).unlink(missing_ok=True)
        self.partial_path_of(segment_id).unlink(missing_ok=True)

    def size(self) -> tuple[int, int]:
        """(copies, bytes they hold on disk) in the cache now."""
        sizes = [_held_bytes(p) for p in self._copies()]
        return len(sizes), sum(sizes)

    def _copies(self) -> list[Path]:
        return [p for pattern in _COPIES for p in self.dir.glob(pattern)]


def _held_bytes(path: Path) -> int:
    """Bytes a copy takes on disk: a partial copy holds only its fetched
    blocks (its length is the object's)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return 0
    return min(st.st_size, st.st_blocks * 512) if path.suffix == ".partial" else st.st_size


def _block_digests_fit(upload: Upload) -> bool:
    blocks = -(-upload.bytes // BLOCK)
    return upload.block_sha256 is not None and upload.bytes > 0 and len(upload.block_sha256) == 32 * blocks
