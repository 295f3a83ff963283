"""A camera's timeline over a stretch of time, for a scrub bar: where there
is footage (segments), where there is none (gaps) and which stretches a
legal hold keeps (holds). Metadata only: no picture, no codec parameter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .records import Gap


@dataclass(frozen=True)
class TimelineSegment:
    """Footage of one segment: ``[start, end)`` ns; ``end`` None while it is
    still being written (then it reaches up to now)."""

    id: int
    start: int
    end: int | None
    frames: int | None
    state: str


@dataclass(frozen=True)
class TimelineHold:
    id: int
    start: int
    end: int
    case: str
    until: int | None
    active: bool


@dataclass(frozen=True)
class Timeline:
    camera: str
    start: int
    end: int
    segments: list[TimelineSegment]
    gaps: list[Gap]
    holds: list[TimelineHold]


def timeline(store: Any, camera: str, start: int, end: int) -> Timeline:
    """The timeline of ``camera`` over ``[start, end)`` ns from the trusted
    ``store`` (the caller checked and logged the request)."""
    now = time.time_ns()
    segments = [TimelineSegment(s.id, s.start, s.end, s.frames, s.state) for s in store.segments(camera, start, end)]
    holds = [TimelineHold(h.id, h.start, h.end, h.case, h.until, h.active_at(now))
             for h in store.holds(camera) if h.start < end and h.end > start]
    return Timeline(camera, start, end, segments, store.gaps(camera, start, end), holds)
