"""Uploading sealed segments: what is due, the upload itself, and the
confirmation before the ledger records it.

The server verifies every byte against a digest computed here from the
local file: below ``MULTIPART_THRESHOLD`` one PUT carries the file's
SHA-256 (``x-amz-checksum-sha256``); above it boto3's multipart upload
sends each part with its SHA-256, and the object's composite checksum
(SHA-256 of the part digests, ``-N``) is compared with the one computed
here. A single PUT whose answer echoes our SHA-256 is confirmed by that
answer (the server verified the bytes before giving it); anything else is
confirmed by a HEAD (size, checksum) before the ledger records it.

Segment files are already encrypted, so only ciphertext leaves the store.
Keys are deterministic (S3Tier.object_key) and an object already confirmed
in the bucket is recorded without a second upload, so a sync repeated after
a crash or a server restart neither loses nor duplicates a segment."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .._core import PARTIAL_COPY_BLOCK
from ..errors import TierError
from ..timeutil import duration_ns
from .ledger import Ledger
from .s3 import S3Tier, error_code, why

MULTIPART_THRESHOLD = 16 << 20
MULTIPART_CHUNK = 16 << 20
BLOCK = PARTIAL_COPY_BLOCK
assert MULTIPART_CHUNK % BLOCK == 0, "a part holds whole blocks"
#: Segments uploaded at once: while one PUT waits on the server, the next
#: segment's SHA-256 is computed and the last one's ledger row written; over
#: a real link two PUTs also keep it busier than one.
UPLOAD_CONCURRENCY = 2


@dataclass
class SyncReport:
    """One upload round: segment ids uploaded, their bytes, failures
    (segment id, why; -1 when not about one segment), how many sealed
    segments are not due yet, and the segments whose objects were deleted
    because retention deleted them (``retired``)."""

    uploaded: list[int] = field(default_factory=list)
    retired: list[int] = field(default_factory=list)
    uploaded_bytes: int = 0
    #: Segments whose local file was evicted this round, the bytes freed,
    #: and those kept local only because a legal hold covers them.
    evicted: list[int] = field(default_factory=list)
    evicted_bytes: int = 0
    held_local: list[int] = field(default_factory=list)
    #: Segments whose object got (or lost) an S3 Object Lock legal hold this
    #: round (legal_hold.py; only on a bucket that enforces them).
    legal_holds_placed: list[int] = field(default_factory=list)
    legal_holds_lifted: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    not_due: int = 0
    #: The snapshot of the store's metadata sent this round (replica.py), if one was.
    replica_seq: int | None = None


def backlog(segments: Iterable[Any], ledger: Ledger) -> list[Any]:
    """Sealed segments not yet confirmed in the bucket."""
    done = ledger.uploads()
    return [s for s in segments if s.state == "sealed" and s.id not in done]


def due_segments(segments: Iterable[Any], ledger: Ledger, tier: S3Tier, now_ns: int) -> list[Any]:
    """The backlog whose ``upload_after`` has passed, oldest first."""
    wait = duration_ns(tier.upload_after)
    return sorted((s for s in backlog(segments, ledger) if (s.sealed_at or 0) + wait <= now_ns), key=lambda s: s.id)


@dataclass(frozen=True)
class Digest:
    """A file's size, SHA-256 (hex), and the checksum S3 will report for it
    when uploaded this way (whole-object or multipart composite)."""

    size: int
    sha256: str
    s3_checksum: str
    multipart: bool
    #: SHA-256 of each block of the file (read_cache.py fetches and checks blocks), concatenated.
    block_sha256: bytes = b""


def block_digests(data: bytes) -> bytes:
    """The SHA-256 of each BLOCK of ``data`` (the last one shorter),
    concatenated: the ledger's ``block_sha256`` for an object of these
    bytes (from a block boundary)."""
    view = memoryview(data)
    return b"".join(hashlib.sha256(view[i:i + BLOCK]).digest() for i in range(0, len(data), BLOCK))


def digest_file(path: Path) -> Digest:
    size = path.stat().st_size
    whole, parts, blocks = hashlib.sha256(), [], []
    with open(path, "rb") as f:
        for part in iter(lambda: f.read(MULTIPART_CHUNK), b""):
            whole.update(part)
            parts.append(hashlib.sha256(part).digest())
            blocks.append(block_digests(part))
    if size < MULTIPART_THRESHOLD:
        return Digest(size, whole.hexdigest(), base64.b64encode(whole.digest()).decode(), False, b"".join(blocks))
    composite = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    return Digest(size, whole.hexdigest(), f"{composite}-{len(parts)}", True, b"".join(blocks))


def confirmed_object(client: Any, tier: S3Tier, key: str, want: Digest) -> dict[str, Any] | None:
    """The object's HEAD if it is there with our size and checksum."""
    import botocore.exceptions as bx

    try:
        head = client.head_object(Bucket=tier.bucket, Key=key, ChecksumMode="ENABLED")
    except bx.ClientError as e:
        if error_code(e) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    if head.get("ContentLength") != want.size or head.get("ChecksumSHA256") != want.s3_checksum:
        return None
    return head


def put_segment_file(client: Any, tier: S3Tier, key: str, path: Path, want: Digest,
                     on_bytes: Callable[[int], None] | None = None) -> dict[str, Any] | None:
    """Uploads ``path`` as ``key``; the server refuses it (BadDigest) if the
    bytes it receives do not match ``want``. Returns the response of a
    single PUT (None after a multipart upload)."""
    from boto3.s3.transfer import TransferConfig

    extra: dict[str, Any] = {"ContentType": "application/octet-stream", "Metadata": {"vidvault-sha256": want.sha256}}
    if not want.multipart:
        # One PUT, the whole object verified against our digest. Not through
        # upload_file: its transfer manager (threads, futures) per call costs
        # more than the PUT of a segment on a fast link.
        with open(path, "rb") as body:
            answer = client.put_object(Bucket=tier.bucket, Key=key, Body=body, ChecksumSHA256=want.s3_checksum,
                                       **extra)
        if on_bytes is not None:
            on_bytes(want.size)
        return answer
    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNK,
                            max_concurrency=2)
    extra["ChecksumAlgorithm"] = "SHA256"  # each part verified; the composite checked after
    client.upload_file(str(path), tier.bucket, key, ExtraArgs=extra, Config=config, Callback=on_bytes)
    return None


def stored_as_sent(answer: dict[str, Any] | None, want: Digest) -> dict[str, Any] | None:
    """A single PUT's answer as the confirmation, when the server says it
    stored the object with our SHA-256: it verified the bytes against that
    digest before answering (a mismatch is BadDigest), so a HEAD would only
    repeat it. Any other answer (no checksum echoed, a multipart upload)
    is confirmed by a HEAD. Eviction HEADs the object again either way."""
    if answer is None or answer.get("ChecksumSHA256") != want.s3_checksum:
        return None
    return answer


def upload_segment(client: Any, tier: S3Tier, root: Path, store_id: str, segment: Any, ledger: Ledger,
                   on_bytes: Callable[[int], None] | None = None, may_be_in_bucket: bool = True) -> int:
    """Uploads one sealed segment (unless the bucket already holds it,
    confirmed), confirms it and records it; returns the bytes sent.
    ``may_be_in_bucket`` False: this process has never tried to upload it
    and has already looked for unrecorded objects since it opened the
    store, so no HEAD asks first (the PUT would be the same bytes under
    the same key anyway; the HEAD only spares a duplicate)."""
    import boto3.exceptions as b3x
    import botocore.exceptions as bx

    path = root / segment.path
    key = tier.object_key(store_id, segment.path)
    where = f"segment {segment.id} (camera {segment.camera!r}) to {tier.where} as {key!r}"
    try:
        want = digest_file(path)
    except OSError as e:
        raise TierError(f"upload of {where}: cannot read {segment.path}: {e.strerror}") from None
    sent = 0
    try:
        head = confirmed_object(client, tier, key, want) if may_be_in_bucket else None
        if head is None:
            answer = put_segment_file(client, tier, key, path, want, on_bytes)
            sent = want.size
            head = stored_as_sent(answer, want) or confirmed_object(client, tier, key, want)
    except (bx.BotoCoreError, bx.ClientError, b3x.Boto3Error, OSError) as e:
        raise TierError(f"upload of {where} failed: {why(e)}") from None
    if head is None:
        raise TierError(f"upload of {where}: the bucket does not hold the {want.size} bytes with SHA-256 checksum "
                        f"{want.s3_checksum} just uploaded; it will be uploaded again")
    ledger.record(segment.id, key, want.size, want.sha256, head.get("VersionId"), want.block_sha256)
    return sent


def sync(client: Any, tier: S3Tier, root: Path, store_id: str, segments: list[Any], ledger: Ledger,
         now_ns: int | None = None, progress: Callable[[int, int, Any], None] | None = None,
         may_be_in_bucket: Callable[[Any], bool] = lambda segment: True) -> SyncReport:
    """Uploads every segment that is due, oldest first, ``UPLOAD_CONCURRENCY``
    at a time. boto3 retries each request with back-off; a segment that
    still fails ends the round (the bucket is most likely unreachable: the
    next round tries again, after the caller's back-off): nothing more is
    started, what is in flight finishes, the rest stays in the backlog.
    ``may_be_in_bucket(segment)``: whether to ask the bucket first
    (upload_segment)."""
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    now_ns = time.time_ns() if now_ns is None else now_ns
    due = due_segments(segments, ledger, tier, now_ns)
    report = SyncReport(not_due=len(backlog(segments, ledger)) - len(due))
    waiting = iter(due)
    in_flight: dict[Future[int], Any] = {}
    with ThreadPoolExecutor(max_workers=UPLOAD_CONCURRENCY, thread_name_prefix="vidvault-upload") as pool:

        def start_next() -> None:
            seg = next(waiting, None)
            if seg is not None:
                in_flight[pool.submit(upload_segment, client, tier, root, store_id, seg, ledger,
                                      may_be_in_bucket=may_be_in_bucket(seg))] = seg

        for _ in range(UPLOAD_CONCURRENCY):
            start_next()
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                seg = in_flight.pop(future)
                try:
                    report.uploaded_bytes += future.result()
                    report.uploaded.append(seg.id)
                except TierError as e:
                    report.failed.append((seg.id, str(e)))
                if progress is not None:
                    progress(len(report.uploaded) + len(report.failed), len(due), seg)
                if not report.failed:
                    start_next()
    report.uploaded.sort()
    return report
