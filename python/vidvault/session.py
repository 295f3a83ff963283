"""Sessions: a principal's view of the store. Every call is checked against
the principal's grants and logged, allowed or denied, before anything is
read. Without a grant a session may only view desensitized footage.

The library trusts its caller to have authenticated the principal (see
docs/SECURITY.md); the signed grants bind what that principal may do.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from ._core import Frame, Segment
from .audit import AuditEntry
from .export.c2pa import C2paCredentials
from .export.package import ExportResult
from .records import Gap
from .redact.config import DEFAULT_REDACTION, Redaction, chosen_redaction
from .redact.player import PlayedFrame
from .retention import Hold, RetentionLike, SweepReport
from .timeutil import TimeLike, to_ns

#: The core's grant check: (principal, grants, action, camera, start, end,
#: purpose) -> what it logged; raises AccessDenied.
Authorize = Callable[..., dict[str, Any]]


class Session:
    """Made by :meth:`vidvault.Store.session`, which passes itself (the
    trusted store the session acts through, after each check) and the core's
    ``authorize``."""

    def __init__(self, store: Any, authorize: Authorize, principal: str, grants: Sequence[str] = (), *,
                 purpose: str = "") -> None:
        self._store = store
        self._authorize = authorize
        self.principal = principal
        self.grants = [g.strip() for g in grants]
        self.purpose = purpose

    def __repr__(self) -> str:
        return f"Session(principal={self.principal!r}, grants={len(self.grants)})"

    def authorize(self, action: str, camera: str | None = None, start: TimeLike | None = None,
                  end: TimeLike | None = None) -> dict[str, Any]:
        """Checks and logs one request; raises :class:`vidvault.AccessDenied`."""
        return self._authorize(
            self.principal, self.grants, action, camera,
            None if start is None else to_ns(start), None if end is None else to_ns(end), self.purpose,
        )

    # -------------------------------------------------------------- footage

    def read(self, camera: str, start: TimeLike, end: TimeLike) -> Iterator[Frame]:
        """Raw access units: needs ``view_raw`` for the camera and footage."""
        self.authorize("view_raw", camera, start, end)
        return self._store.read(camera, start, end)

    def seek(self, camera: str, ts: TimeLike) -> Frame | None:
        t = to_ns(ts)
        self.authorize("view_raw", camera, t, t + 1)
        return self._store.seek(camera, t)

    def segments(self, camera: str, start: TimeLike, end: TimeLike) -> list[Segment]:
        """What footage exists (no pixels): allowed at the desensitized level."""
        self.authorize("view_redacted", camera, start, end)
        return self._store.segments(camera, start, end)

    def gaps(self, camera: str, start: TimeLike, end: TimeLike) -> list[Gap]:
        self.authorize("view_redacted", camera, start, end)
        return self._store.gaps(camera, start, end)

    def play(self, camera: str, start: TimeLike, end: TimeLike, *,
             redact: Redaction | None = DEFAULT_REDACTION, raw: bool = False) -> Iterator[PlayedFrame]:
        """Decoded pictures, as :meth:`Store.play`. Redacted (the default)
        needs ``view_redacted``, which every principal has without a grant;
        ``raw=True`` needs ``view_raw``."""
        redaction = chosen_redaction(redact, raw, "play")  # refuse a malformed request before logging it
        if redaction is None:
            self.authorize("view_raw", camera, start, end)
            return self._store.play(camera, start, end, raw=True)
        self.authorize("view_redacted", camera, start, end)
        return self._store.play(camera, start, end, redact=redaction)

    def export_clip(self, camera: str, start: TimeLike, end: TimeLike, out_dir: Any, *,
                    redact: Redaction | None = DEFAULT_REDACTION, raw: bool = False, watermark: str | None = None,
                    case: str | None = None, reason: str | None = None, c2pa: C2paCredentials | None = None,
                    progress: Callable[[PlayedFrame, int], None] | None = None) -> ExportResult:
        """An evidence package, as :meth:`Store.export_clip`. Redacted (the
        default: no unredacted video) needs ``export``, which a grant of
        ``export_raw`` also gives (the stronger right); the bit-exact package
        (``raw=True``) needs ``export_raw``. Export grants name an approver.
        The manifest names the audit entry of the check."""
        redaction = chosen_redaction(redact, raw, "export_clip")  # refuse a malformed request before logging it
        auth = self.authorize("export_raw" if redaction is None else "export", camera, start, end)
        common = dict(watermark=watermark, case=case, reason=reason or self.purpose, actor=self.principal, c2pa=c2pa,
                      authorization=auth, progress=progress)
        if redaction is None:
            return self._store.export_clip(camera, start, end, out_dir, raw=True, **common)
        return self._store.export_clip(camera, start, end, out_dir, redact=redaction, **common)

    # -------------------------------------------------------------- evidence and administration

    def hold(self, camera: str, start: TimeLike, end: TimeLike, *, case: str, reason: str = "",
             until: TimeLike | None = None) -> Hold:
        self.authorize("hold", camera, start, end)
        return self._store.hold(camera, start, end, case=case, actor=self.principal, reason=reason, until=until)

    def release(self, hold_id: int) -> Hold:
        hold = next((h for h in self._store.holds() if h.id == hold_id), None)
        self.authorize("hold", hold.camera if hold else None, hold.start if hold else None,
                       hold.end if hold else None)
        return self._store.release(hold_id, actor=self.principal)

    def set_retention(self, camera: str, retention: RetentionLike) -> None:
        self.authorize("manage", camera)
        self._store.set_retention(camera, retention)

    def enforce_retention(self, now: TimeLike | None = None, *, dry_run: bool = False) -> SweepReport:
        self.authorize("manage")
        return self._store.enforce_retention(now, dry_run=dry_run, actor=self.principal)

    def audit(self, camera: str | None = None, since: TimeLike | None = None) -> list[AuditEntry]:
        self.authorize("audit_read", camera)
        return self._store.audit(camera, since=since)
