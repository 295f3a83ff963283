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

    def summary(self) -> str:
        if not self.configured:
            return "no tier: every segment stays on local disk only"
        lines = [
            f"tier: s3 bucket {self.bucket!r} at {self.endpoint}" + (f", prefix {self.prefix!r}" if self.prefix else ""),
            f"upload after sealing: {self.upload_after}; keep local: {self.keep_local} "
            "(eviction not built yet: local copies stay until retention or disk pressure deletes them)",
            f"uploaded: {self.uploaded_segments} segments, {self.uploaded_bytes} bytes",
            f"waiting to upload: {self.backlog_segments} segments, {self.backlog_bytes} bytes",
            f"holds: {self.holds}",
        ]
        if self.alarm:
            lines.append(f"ALARM: {self.alarm}")
        return "\n".join(lines)
