"""fsck's look at the bucket: is every object the ledger says holds one of
this store's segments still there, and still the bytes that were uploaded?

A read of an evicted segment already refuses a missing or altered object
(read_cache.py), but only when someone reads it: footage nobody watches
could be gone for months before a clerk needs it. ``Store.fsck`` asks the
bucket now:

- always: a HEAD of each object, its size against the size recorded at
  upload (finds a deleted or truncated object, one request each);
- ``deep``: a GET of each object, streamed through SHA-256 and compared with
  the digest recorded at upload (also finds an object altered in place at
  the same size). Nothing is written to disk on the way.

Objects of segments whose local copy is kept are checked too: eviction
would keep such a copy (evict.py checks the object first), but the bucket
no longer holds what the tier promises, and ``vidvault tier sync`` re-sends
no object the ledger records, so the fix is the operator's (the detail
says how). Each object found missing or altered is audited, as a read that
met it would be."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .ledger import Ledger
from .s3 import S3Tier, error_code, why

_CHUNK = 1 << 20


@dataclass
class ObjectCheck:
    #: Objects asked about.
    objects: int = 0
    #: Bytes read back and hashed (``deep`` only).
    bytes_read: int = 0
    #: As fsck's problems: camera, segment_id, path (the object's URL), offset, detail.
    problems: list[dict[str, Any]] = field(default_factory=list)


def object_url(tier: S3Tier, key: str) -> str:
    return f"s3://{tier.bucket}/{key} at {tier.endpoint}"


def check_objects(client: Any, tier: S3Tier, ledger: Ledger, segments: Iterable[Any], *, deep: bool,
                  audit: Callable[[str, str, str], None]) -> ObjectCheck:
    """Checks the object of each of ``segments`` the ledger records."""
    import botocore.exceptions as bx

    check = ObjectCheck()
    uploads = ledger.uploads()
    for segment in segments:
        upload = uploads.get(segment.id)
        if upload is None:
            continue  # not uploaded yet: the backlog, not a problem
        check.objects += 1
        only_copy = upload.evicted_ns is not None
        try:
            if deep:
                got, digest = _read_back(client, tier.bucket, upload.object_key)
                check.bytes_read += got
            else:
                got = int(client.head_object(Bucket=tier.bucket, Key=upload.object_key)["ContentLength"])
                digest = None
        except (bx.BotoCoreError, bx.ClientError) as e:
            if error_code(e) not in ("404", "NoSuchKey", "NotFound"):
                check.problems.append(_problem(segment, tier, upload.object_key,
                                               f"the bucket did not answer ({why(e)}): this object and those "
                                               "after it were not checked; run fsck again when it answers"))
                return check
            detail = "the object is missing from the bucket (deleted behind vidvault's back)"
            audit("tier_object_missing", "raised", f"fsck: segment {segment.id}: {detail}")
            check.problems.append(_problem(segment, tier, upload.object_key, _advice(detail, only_copy)))
            continue
        if got != upload.bytes or (digest is not None and digest != upload.sha256):
            found = f"{got} bytes" + (f" with SHA-256 {digest}" if digest is not None else "")
            detail = (f"the object does not match its upload: {found}, uploaded as {upload.bytes} bytes with "
                      f"SHA-256 {upload.sha256} (altered or truncated in the bucket)")
            audit("tier_object_mismatch", "raised", f"fsck: segment {segment.id}: {detail}")
            check.problems.append(_problem(segment, tier, upload.object_key, _advice(detail, only_copy)))
    return check


def _read_back(client: Any, bucket: str, key: str) -> tuple[int, str]:
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    digest, got = hashlib.sha256(), 0
    for chunk in iter(lambda: body.read(_CHUNK), b""):
        digest.update(chunk)
        got += len(chunk)
    return got, digest.hexdigest()


def _advice(detail: str, only_copy: bool) -> str:
    if only_copy:
        return (f"{detail}; the local file was evicted, so this segment's footage cannot be read: restore the "
                "object from a bucket version or backup under that key")
    return (f"{detail}; the local file is still here, is the good copy and is not evicted while the object "
            "differs: put it back under that key (e.g. `aws s3 cp`)")


def _problem(segment: Any, tier: S3Tier, key: str, detail: str) -> dict[str, Any]:
    return {"camera": segment.camera, "segment_id": segment.id, "path": object_url(tier, key), "offset": None,
            "detail": detail}
