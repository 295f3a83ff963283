"""What `tier status` reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TierStatus:
    """``configured`` False: no tier (every other field empty). ``backlog``:
    sealed segments not yet confirmed in the bucket; ``alarm``: why uploads
    are failing, if they are."""

    configured: bool
    endpoint: str = ""
    bucket: str = ""
    prefix: str = ""
    upload_after: str = ""
    keep_local: str = ""
    holds: str = ""
    uploaded_segments: int = 0
    uploaded_bytes: int = 0
    backlog_segments: int = 0
    backlog_bytes: int = 0
    alarm: str | None = None
    #: Uploaded segments whose local file was evicted (in the bucket only).
    remote_only_segments: int = 0
    remote_only_bytes: int = 0
    #: The read cache of evicted segments fetched back, and its cap.
    cache_segments: int = 0
    cache_bytes: int = 0
    cache_cap_bytes: int = 0
    #: A read-only view of the store (Store.open_remote): reads the bucket, writes nothing to it.
    read_only: bool = False

    def summary(self) -> str:
        if not self.configured:
            return "no tier: every segment stays on local disk only"
        lines = [
            f"tier: s3 bucket {self.bucket!r} at {self.endpoint}" + (f", prefix {self.prefix!r}" if self.prefix else ""),
            *(["READ-ONLY VIEW: reads this bucket, uploads, deletes and replicates nothing (the recorder does)"]
              if self.read_only else []),
            f"upload after sealing: {self.upload_after}; keep local after upload: {self.keep_local}",
            f"uploaded: {self.uploaded_segments} segments, {self.uploaded_bytes} bytes",
            f"local and remote: {self.uploaded_segments - self.remote_only_segments} segments, "
            f"{self.uploaded_bytes - self.remote_only_bytes} bytes",
            f"remote only (evicted): {self.remote_only_segments} segments, {self.remote_only_bytes} bytes",
            f"waiting to upload (local only): {self.backlog_segments} segments, {self.backlog_bytes} bytes",
            f"read cache: {self.cache_segments} segments, {self.cache_bytes} of {self.cache_cap_bytes} bytes",
            f"holds: {self.holds}",
        ]
        if self.alarm:
            lines.append(f"ALARM: {self.alarm}")
        return "\n".join(lines)
