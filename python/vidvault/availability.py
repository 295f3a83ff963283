"""How much of a period each camera recorded: ``Store.availability``.

From the catalog: a camera's outages are the stretches of its period its
segments do not cover (``Store.gaps``, so a pause shorter than the store's
gap threshold is not one), and its recorded fraction is the rest. A
camera's period starts when it came into service: when it was added to the
store, or at its first footage if that is earlier (footage imported from
before it was added). A camera added during the period is not charged with
the time before, and one added after the period ends is not in the report's
cameras at all (``not_in_service``): an intact rate counts only the cameras
that existed. Outage causes (unreachable, unauthorized, ...) come from the
``camera_outage`` entries a recorder writes to the audit log.

With ``pictures=True`` the report also runs the zombie-camera checks
(:mod:`vidvault.picture_check`) over the period: footage that arrived but
shows a black, uniform (covered) or frozen picture counts as not working,
and a moved camera is flagged. That decodes one keyframe per ``every`` of
footage, so a month of a camera at 60 s costs about 43,000 decodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

from .errors import InvalidArgumentError
from .picture_check.judge import AlarmKind, PictureAlarm
from .records import Gap
from .timeutil import NS_PER_SECOND, TimeLike, iso, to_ns


class _Catalog(Protocol):  # what this needs of a Store (no import of store.py: no cycle)
    def cameras(self) -> list[Any]: ...
    def camera(self, camera_id: str) -> Any: ...
    def gaps(self, camera: str, start: TimeLike, end: TimeLike) -> list[Gap]: ...
    def audit(self, camera: str | None = None, *, since: TimeLike | None = None,
              action: str | None = None) -> list[Any]: ...


#: The zombie-camera checks of one camera over ``[start, end)`` (ns): the
#: store's own, or a session's through its grant's window.
CheckPictures = Callable[[str, int, int], list[PictureAlarm]]


@dataclass(frozen=True)
class CameraAvailability:
    camera: str
    #: The camera's period: from the report's start, or from when the camera
    #: came into service if that was later, to the report's end.
    start: int
    end: int
    outages: tuple[Gap, ...]
    #: Per outage (same order), the causes a recorder logged for it.
    causes: tuple[tuple[str, ...], ...] = ()
    #: Zombie-camera alarms of the period; None when the pictures were not checked.
    picture_alarms: tuple[PictureAlarm, ...] | None = None

    @property
    def missing_ns(self) -> int:
        return sum(g.end - g.start for g in self.outages)

    @property
    def blind_ns(self) -> int:
        """Recorded time that showed no picture (black, uniform, frozen), clipped to the period."""
        spans = sorted((max(a.first_bad, self.start), min(self.end if a.ended is None else a.ended, self.end))
                       for a in self.picture_alarms or () if a.kind is not AlarmKind.MOVED)
        total, reach = 0, self.start
        for s, e in spans:  # union: a covered lens can also read as uniform and black in turn
            s = max(s, reach)
            if e > s:
                total, reach = total + e - s, e
        return total

    @property
    def working_fraction(self) -> float:
        """Share of the period with footage that shows a picture, 0.0 .. 1.0
        (the recorded fraction when the pictures were not checked)."""
        return max(0, self.recorded_ns - self.blind_ns) / (self.end - self.start)

    @property
    def recorded_ns(self) -> int:
        return self.end - self.start - self.missing_ns

    @property
    def fraction(self) -> float:
        """Share of the period with footage, 0.0 .. 1.0."""
        return self.recorded_ns / (self.end - self.start)

    def to_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "in_service_from": iso(self.start),
            "recorded_fraction": round(self.fraction, 6),
            "recorded_seconds": self.recorded_ns / NS_PER_SECOND,
            "missing_seconds": self.missing_ns / NS_PER_SECOND,
            "outages": [{"start": iso(g.start), "end": iso(g.end), "seconds": (g.end - g.start) / NS_PER_SECOND,
                         "causes": list(self.causes[i]) if i < len(self.causes) else []}
                        for i, g in enumerate(self.outages)],
            **({} if self.picture_alarms is None else {
                "working_fraction": round(self.working_fraction, 6),
                "picture_alarms": [a.to_dict() for a in self.picture_alarms]}),
        }


@dataclass(frozen=True)
class AvailabilityReport:
    start: int
    end: int
    #: The cameras in service during the period.
    cameras: tuple[CameraAvailability, ...]
    #: Cameras asked about that came into service only after the period ended.
    not_in_service: tuple[str, ...] = ()

    def intact_rate(self, min_fraction: float) -> float:
        """Share of the cameras that recorded at least ``min_fraction`` of the
        period (1.0 for a report without cameras): the site's intact rate
        (完好率) for that bar, e.g. 0.98 for key public areas. Where the
        pictures were checked, only footage that shows a picture counts, and
        a camera that was moved is not intact."""
        if not 0.0 < min_fraction <= 1.0:
            raise InvalidArgumentError(f"the intact bar {min_fraction!r} is not a fraction in (0, 1]: "
                                       "give e.g. 0.98 for 98%")
        if not self.cameras:
            return 1.0
        return sum(c.working_fraction >= min_fraction
                   and not any(a.kind is AlarmKind.MOVED for a in c.picture_alarms or ())
                   for c in self.cameras) / len(self.cameras)

    def to_dict(self) -> dict[str, Any]:
        return {"start": iso(self.start), "end": iso(self.end), "cameras": [c.to_dict() for c in self.cameras],
                "not_in_service": list(self.not_in_service)}


def availability(store: _Catalog, start: TimeLike, end: TimeLike,
                 cameras: Iterable[str] | None = None, *,
                 check_pictures: CheckPictures | None = None) -> AvailabilityReport:
    """The report over ``[start, end)``; ``check_pictures`` also judges each
    camera's pictures over its period (``pictures=True`` of the callers)."""
    t0, t1 = to_ns(start), to_ns(end)
    if t1 <= t0:
        raise InvalidArgumentError(f"the period ends ({iso(t1)}) before it starts ({iso(t0)}): give an end "
                                   "after the start")
    listed = store.cameras() if cameras is None else [store.camera(c) for c in cameras]
    report, later = [], []
    for camera in listed:
        gaps = tuple(store.gaps(camera.id, t0, t1))
        since = in_service_from(camera.created, t0, t1, gaps)
        if since >= t1:
            later.append(camera.id)
            continue
        if since > t0:  # the gaps of its own period, so a pause under the gap threshold stays none
            gaps = tuple(store.gaps(camera.id, since, t1))
        report.append(CameraAvailability(
            camera.id, since, t1, gaps, _causes(store, camera.id, gaps),
            None if check_pictures is None else tuple(check_pictures(camera.id, since, t1))))
    return AvailabilityReport(t0, t1, tuple(report), tuple(later))


def in_service_from(created: int, start: int, end: int, gaps: tuple[Gap, ...]) -> int:
    """When a camera's period starts within ``[start, end)``: ``start``,
    unless the camera was added later, and then its first footage if that
    is earlier still (footage imported from before the camera was added)."""
    if created <= start:
        return start
    footage_from = start if not gaps or gaps[0].start > start else gaps[0].end  # the first gap ends at footage
    return min(created, footage_from) if footage_from < end else created


#: How far before the period to look for the start of an outage still going on
#: in it. Only the camera's outage entries are read (an index of the audit
#: log), not its retrievals, so the lookback costs what its outages number.
CAUSE_LOOKBACK_NS = 7 * 86400 * NS_PER_SECOND
#: An outage begins at the last frame before it; the catalog's gap at that
#: frame's end, or its segment's: they are matched with this much slack.
CAUSE_SLACK_NS = 60 * NS_PER_SECOND


def _causes(store: _Catalog, camera: str, gaps: tuple[Gap, ...]) -> tuple[tuple[str, ...], ...]:
    if not gaps:
        return ()
    logged = [(e.start, e.end or e.start + 1, e.details.get("cause") or "unknown")
              for e in store.audit(camera, since=gaps[0].start - CAUSE_LOOKBACK_NS, action="camera_outage")
              if e.start is not None]
    out = []
    for g in gaps:
        out.append(tuple(dict.fromkeys(c for s, e, c in logged if s < g.end and e + CAUSE_SLACK_NS > g.start)))
    return tuple(out)
