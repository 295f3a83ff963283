"""Sessions: a principal's view of the store. Every call is checked against
the principal's grants and logged, allowed or denied, before anything is
read. Without a grant a session may only view desensitized footage.

Every check names its scope, so no call skips the camera check:

- footage calls (``read``, ``seek``, ``segments``, ``gaps``, ``availability``,
  ``play``, ``export_clip``, ``hold``, ``release`` of a known hold) name a camera and
  the stretch of footage; what they hand out is clamped to the window of
  the grant that allowed them (see :mod:`vidvault.grant_window`);
- camera-wide calls (``set_retention``, ``audit(camera)``) name a camera and
  its whole timeline, which only a grant without a footage window covers;
- store-wide calls (``enforce_retention``, ``audit()`` of the whole log,
  ``release`` of a hold whose camera is unknown) need a store-wide grant:
  ``cameras=["*"]`` without a footage window.

A session never chooses the time: ``enforce_retention`` runs at the clock's
``now`` (a chosen ``now`` stays a tool of the trusted :class:`vidvault.Store`).

The library trusts its caller to have authenticated the principal (see
docs/SECURITY.md); the signed grants bind what that principal may do.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ._core import Frame, Segment
from .audit import AuditEntry
from .export.c2pa import C2paCredentials
from .export.package import ExportResult
from .grant_window import GrantWindow, WindowedFootage
from .records import Gap
from .redact.config import DEFAULT_REDACTION, Redaction, chosen_redaction
from .redact.player import PlayedFrame
from .retention import Hold, RetentionLike, SweepReport
from .timeline import Timeline
from .timeutil import TimeLike, duration_ns, to_ns
from .viewing import Viewing

if TYPE_CHECKING:
    from .availability import AvailabilityReport

#: The core's grant check: (principal, grants, action, camera, start, end,
#: purpose) -> what it logged and the grant's window; raises AccessDenied.
#: camera=None is the whole store; a camera without start/end its whole timeline.
Authorize = Callable[..., dict[str, Any]]

#: Footage through a grant's window, unaudited (the session has logged the
#: request itself): made by the store for each allowed request.
Footage = Callable[[GrantWindow], WindowedFootage]


class Session:
    """Made by :meth:`vidvault.Store.session`, which passes itself (the
    trusted store the session acts through, after each check) and the core's
    ``authorize``."""

    def __init__(self, store: Any, authorize: Authorize, principal: str, grants: Sequence[str] = (), *,
                 purpose: str = "", footage: Footage) -> None:
        self._store = store
        self._authorize = authorize
        self._footage = footage
        self.principal = principal
        self.grants = [g.strip() for g in grants]
        self.purpose = purpose

    def __repr__(self) -> str:
        return f"Session(principal={self.principal!r}, grants={len(self.grants)})"

    def authorize(self, action: str, camera: str | None = None, start: TimeLike | None = None,
                  end: TimeLike | None = None) -> dict[str, Any]:
        """Checks and logs one request; raises :class:`vidvault.AccessDenied`.
        ``camera=None`` asks for the whole store; a camera without ``start``
        and ``end`` for its whole timeline."""
        return self._authorize(
            self.principal, self.grants, action, camera,
            None if start is None else to_ns(start), None if end is None else to_ns(end), self.purpose,
        )

    def _through(self, authorization: dict[str, Any]) -> WindowedFootage:
        return self._footage(GrantWindow.of(authorization))

    # -------------------------------------------------------------- footage

    def read(self, camera: str, start: TimeLike, end: TimeLike) -> Iterator[Frame]:
        """Raw access units: needs ``view_raw`` for the camera and footage.
        Starts at the first keyframe inside the grant's window (the keyframe
        at or before ``start`` when it is inside), never earlier."""
        s, e = to_ns(start), to_ns(end)
        return self._through(self.authorize("view_raw", camera, s, e)).read(camera, s, e)

    def raw_footage(self, camera: str, start: TimeLike, end: TimeLike) -> WindowedFootage:
        """As :meth:`read` (``view_raw``, one check and log entry), for
        reading by metadata: the windowed footage's ``frame_infos`` lists
        what ``read`` would yield without decrypting, and ``read_frame``
        decrypts the frames to serve (a byte range of a long clip)."""
        return self._through(self.authorize("view_raw", camera, to_ns(start), to_ns(end)))

    def viewing(self, camera: str, start: TimeLike, end: TimeLike, *, raw: bool = False) -> Viewing:
        """One check and log entry (``view_raw`` when ``raw``, else
        ``view_redacted``) for ``[start, end)``, read afterwards piece by
        piece (:class:`vidvault.viewing.Viewing`) without an entry per piece.
        The viewed stretch begins at the keyframe reading ``start`` starts
        from, as :meth:`read` does, and lies inside the grant's window."""
        s, e = to_ns(start), to_ns(end)
        footage = self._through(self.authorize("view_raw" if raw else "view_redacted", camera, s, e))
        first = next(iter(footage.frame_infos(camera, s, s + 1)), None)
        window = footage.window
        s = min(s, first.ts) if first is not None else s
        s = s if window.start is None else max(s, window.start)
        e = e if window.end is None else min(e, window.end)
        return Viewing(footage, camera, s, max(e, s + 1), raw=raw)

    def seek(self, camera: str, ts: TimeLike) -> Frame | None:
        """As :meth:`Store.seek`, inside the grant's window (see
        :meth:`vidvault.grant_window.WindowedFootage.seek`)."""
        t = to_ns(ts)
        return self._through(self.authorize("view_raw", camera, t, t + 1)).seek(camera, t)

    def segments(self, camera: str, start: TimeLike, end: TimeLike) -> list[Segment]:
        """What footage exists (no pixels): allowed at the desensitized level."""
        self.authorize("view_redacted", camera, start, end)
        return self._store.segments(camera, start, end)

    def gaps(self, camera: str, start: TimeLike, end: TimeLike) -> list[Gap]:
        self.authorize("view_redacted", camera, start, end)
        return self._store.gaps(camera, start, end)

    def timeline(self, camera: str, start: TimeLike, end: TimeLike) -> Timeline:
        """Segments, gaps and holds over ``[start, end)`` (no pictures):
        allowed at the desensitized level; one check, one log entry."""
        self.authorize("view_redacted", camera, start, end)
        return self._store.timeline(camera, start, end)

    def availability(self, start: TimeLike, end: TimeLike, *, cameras: Sequence[str] | None = None,
                     pictures: bool = False, every: float | timedelta | str = 60.0) -> AvailabilityReport:
        """As :meth:`Store.availability`, one check and log entry per camera.
        The recorded share, the outages and their causes are desensitized
        metadata (``view_redacted``, as :meth:`gaps`). ``pictures=True``
        decodes stored keyframes, so it needs ``view_raw`` for each camera,
        and only keyframes inside the grant's window are judged."""
        from .availability import availability
        from .picture_check.sampling import check_stored_pictures

        s, e = to_ns(start), to_ns(end)
        every_ns = duration_ns(every)  # a malformed interval is refused before anything is logged
        ids = [c.id for c in self._store.cameras()] if cameras is None else list(cameras)
        allowed = {c: self.authorize("view_raw" if pictures else "view_redacted", c, s, e) for c in ids}

        def check_pictures(camera: str, cs: int, ce: int) -> list[Any]:
            return check_stored_pictures(self._through(allowed[camera]), camera, cs, ce, every_ns)

        return availability(self._store, s, e, ids, check_pictures=check_pictures if pictures else None)

    def cameras(self) -> list[Any]:
        """Every camera with its labels (no footage): any principal may list
        them, as it may view any camera desensitized; the listing is logged."""
        self._store.audit_record(self.principal, "list_cameras", outcome="allowed", reason=self.purpose,
                                 details={"call": "cameras"})
        return self._store.cameras()

    def play(self, camera: str, start: TimeLike, end: TimeLike, *,
             redact: Redaction | None = DEFAULT_REDACTION, raw: bool = False) -> Iterator[PlayedFrame]:
        """Decoded pictures, as :meth:`Store.play`. Redacted (the default)
        needs ``view_redacted``, which every principal has without a grant;
        ``raw=True`` needs ``view_raw``. Only frames inside the grant's
        window are decoded."""
        redaction = chosen_redaction(redact, raw, "play")  # refuse a malformed request before logging it
        s, e = to_ns(start), to_ns(end)
        auth = self.authorize("view_raw" if redaction is None else "view_redacted", camera, s, e)
        return self._through(auth).play(camera, s, e, redaction)

    def export_clip(self, camera: str, start: TimeLike, end: TimeLike, out_dir: Any, *,
                    redact: Redaction | None = DEFAULT_REDACTION, raw: bool = False, watermark: str | None = None,
                    case: str | None = None, reason: str | None = None, c2pa: C2paCredentials | None = None,
                    progress: Callable[[PlayedFrame, int], None] | None = None) -> ExportResult:
        """An evidence package, as :meth:`Store.export_clip`. Redacted (the
        default: no unredacted video) needs ``export``, which a grant of
        ``export_raw`` also gives (the stronger right); the bit-exact package
        (``raw=True``) needs ``export_raw``. Export grants name an approver.
        The manifest names the audit entry of the check. The package holds
        only frames inside the grant's window: a bit-exact clip whose start
        falls in a GOP that began before the window starts at the window's
        first keyframe."""
        redaction = chosen_redaction(redact, raw, "export_clip")  # refuse a malformed request before logging it
        s, e = to_ns(start), to_ns(end)
        auth = self.authorize("export_raw" if redaction is None else "export", camera, s, e)
        return self._through(auth).export_clip(
            camera, s, e, out_dir, redaction=redaction, watermark_text=watermark, case=case,
            reason=reason or self.purpose, actor=self.principal, c2pa=c2pa, authorization=auth, progress=progress)

    # -------------------------------------------------------------- evidence and administration

    def hold(self, camera: str, start: TimeLike, end: TimeLike, *, case: str, reason: str = "",
             until: TimeLike | None = None) -> Hold:
        """Needs ``hold`` for the camera over ``[start, end)``."""
        self.authorize("hold", camera, start, end)
        return self._store.hold(camera, start, end, case=case, actor=self.principal, reason=reason, until=until)

    def release(self, hold_id: int) -> Hold:
        """Needs ``hold`` for the hold's camera and footage; a hold this store
        does not know needs a store-wide ``hold`` grant (its camera is unknown)."""
        hold = next((h for h in self._store.holds() if h.id == hold_id), None)
        if hold is None:
            self.authorize("hold")
        else:
            self.authorize("hold", hold.camera, hold.start, hold.end)
        return self._store.release(hold_id, actor=self.principal)

    def set_retention(self, camera: str, retention: RetentionLike) -> None:
        """Needs ``manage`` for the camera (a grant without a footage window:
        retention acts on all its footage)."""
        self.authorize("manage", camera)
        self._store.set_retention(camera, retention)

    def enforce_retention(self, *, dry_run: bool = False) -> SweepReport:
        """A sweep over every camera, at the clock's time: needs a store-wide
        ``manage`` grant (``cameras=["*"]``, no footage window)."""
        self.authorize("manage")
        return self._store.enforce_retention(dry_run=dry_run, actor=self.principal)

    def audit(self, camera: str | None = None, since: TimeLike | None = None) -> list[AuditEntry]:
        """The entries of ``camera`` (``audit_read`` for that camera), or with
        no camera the whole log, entries of no camera included (a store-wide
        ``audit_read`` grant). Reading the log is itself logged."""
        self.authorize("audit_read", camera)
        return self._store.audit(camera, since=since)
