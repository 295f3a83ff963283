"""Wall-clock time (UTC ns) for each access unit of a source.

A frame's store time is ``anchor_wall + (pts - anchor_pts) * time_base``: the
source's own timestamps keep frame spacing exact, and the anchor ties them to
UTC. The anchor comes from the source's clock when it has one (RTCP sender
reports on RTSP, exposed by FFmpeg as ``start_time_realtime``), from the
caller (``--start`` for a file), else from the arrival time of the packet.

The store needs time to move forward (a keyframe later than everything
before it, no frame earlier than its keyframe), and sources do not always
oblige: MPEG-TS timestamps wrap or restart, a reconnected RTSP stream starts
from zero, a camera's clock is set back. So at each keyframe the clock
re-anchors when the source jumps backwards, when a live source's time drifts
away from the arrival time by more than ``drift_limit_ns``, or when a better
clock (RTCP) becomes available; and every frame's time is clamped to keep
the store's ordering rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..timeutil import NS_PER_SECOND, ticks_to_ns


@dataclass(frozen=True)
class ClockSource:
    """Where the current anchor came from."""

    ARRIVAL = "arrival"  # packet arrival time at this process
    GIVEN = "given"  # the caller's start time (files)
    CONTAINER = "container"  # a file's creation_time tag
    RTCP = "rtcp"  # RTCP sender report NTP time of a live stream


class WallClock:
    """Assigns store times to one source's packets, in decode order."""

    def __init__(
        self,
        *,
        time_base: Fraction,
        floor_ns: int | None = None,
        live: bool,
        drift_limit_ns: int = 5 * NS_PER_SECOND,
        frame_ns: int = 40_000_000,
    ) -> None:
        self.time_base = time_base
        self.live = live
        self.drift_limit_ns = drift_limit_ns
        self.frame_ns = frame_ns
        self.source = ClockSource.ARRIVAL
        self.reanchors = 0
        self.untrusted_source: str | None = None  # a source clock refused for drifting from arrival time
        self._anchor: tuple[int, int] | None = None  # (wall ns, pts)
        self._max_ts = floor_ns  # latest time handed out (or already in the store)
        self._key_ts: int | None = None

    def _project(self, pts: int) -> int:
        wall, anchor_pts = self._anchor  # type: ignore[misc]
        return wall + ticks_to_ns(pts - anchor_pts, self.time_base)

    def _set_anchor(self, wall: int, pts: int, source: str) -> None:
        if self._anchor is not None:
            self.reanchors += 1
        self._anchor = (wall, pts)
        self.source = source

    def restart(self) -> None:
        """A new connection: its timestamps start afresh, so the next
        keyframe anchors anew (every earlier time stays a floor)."""
        self._anchor = None

    def frame_time(
        self,
        *,
        pts: int,
        keyframe: bool,
        arrival_ns: int,
        source_ns: int | None = None,
        source: str = ClockSource.ARRIVAL,
    ) -> int:
        """Store time for a packet. ``source_ns`` is the wall time the source
        (or the caller, for a file) claims for this packet; ``source`` names
        that clock. It is used at keyframes, to anchor."""
        if keyframe:
            self._on_keyframe(pts, arrival_ns, source_ns, source)
        elif self._anchor is None:
            self._set_anchor(arrival_ns, pts, ClockSource.ARRIVAL)
        ts = self._project(pts)
        if keyframe:
            if self._max_ts is not None and ts <= self._max_ts:
                ts = self._max_ts + 1
            self._key_ts = ts
        elif self._key_ts is not None and ts < self._key_ts:
            ts = self._key_ts  # e.g. open-GOP leading pictures presented before their keyframe
        if self._max_ts is None or ts > self._max_ts:
            self._max_ts = ts
        return ts

    def _on_keyframe(self, pts: int, arrival_ns: int, source_ns: int | None, source: str) -> None:
        trusted = source_ns is not None and (
            not self.live or abs(source_ns - arrival_ns) <= self.drift_limit_ns
        )
        if source_ns is not None and not trusted:
            self.untrusted_source = source
        if trusted and (self._anchor is None or self.source != source):
            assert source_ns is not None
            if self._max_ts is None or source_ns > self._max_ts:
                self._set_anchor(source_ns, pts, source)
                return
        if self._anchor is None:
            if self._max_ts is None:
                self._set_anchor(arrival_ns, pts, ClockSource.ARRIVAL)
            elif self.live:
                self._set_anchor(max(arrival_ns, self._max_ts + 1), pts, ClockSource.ARRIVAL)
            else:  # a file goes on where it was, one frame later
                self._set_anchor(self._max_ts + self.frame_ns, pts, self.source)
            return
        ts = self._project(pts)
        if self._max_ts is not None and ts < self._max_ts - 2 * self.frame_ns:
            # The source went back in time: go on one frame after the last.
            if self.live:
                self._set_anchor(max(arrival_ns, self._max_ts + self.frame_ns), pts, ClockSource.ARRIVAL)
            else:
                self._set_anchor(self._max_ts + self.frame_ns, pts, self.source)
        elif self.live and abs(ts - arrival_ns) > self.drift_limit_ns:
            self._set_anchor(max(arrival_ns, (self._max_ts or 0) + 1), pts, ClockSource.ARRIVAL)
