"""Cutting a range's footage into parts a browser fetches one by one: each
part begins at a keyframe and holds whole GOPs, a few seconds of them, so a
player that seeks fetches only the parts around the instant it seeks to.

A part ends where the next one begins when the footage runs on; before a
gap (the recorder stopped, the camera was unreachable) it ends one frame
interval after its last frame, and the gap between the two is listed, so a
player shows it and skips it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Sequence

from ..timeutil import NS_PER_SECOND

#: A new part begins at the first keyframe this long after its start (so a
#: part holds one GOP or more: 4 s up to 4 s + one GOP; a longer GOP is a part).
PART_NS = 4 * NS_PER_SECOND
#: Frames further apart than this (and than GAP_INTERVALS frame intervals) have a gap between them.
MIN_GAP_NS = NS_PER_SECOND
GAP_INTERVALS = 4


@dataclass(frozen=True)
class Part:
    start: int  # the wall-clock time of its first frame, a keyframe
    end: int  # where the next part begins, or one frame interval after its last frame
    frames: int
    size: int  # bytes of stored access units

    @property
    def duration_ns(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Gap:
    start: int
    end: int


def frame_interval(infos: Sequence[Any]) -> int:
    """The typical time between frames (the median), 40 ms when one frame
    alone cannot tell."""
    times = sorted(f.ts for f in infos)
    steps = [b - a for a, b in zip(times, times[1:]) if b > a]
    return int(statistics.median(steps)) if steps else NS_PER_SECOND // 25


def plan(infos: Sequence[Any], start: int, end: int) -> tuple[list[Part], list[Gap]]:
    """The parts of ``infos`` (decode order, as the session lists the
    frames of ``[start, end)``) and the gaps of ``[start, end)`` they leave.
    A part also begins at each segment's first frame (a keyframe), so one
    part holds one codec configuration."""
    interval = frame_interval(infos)
    gap_ns = max(MIN_GAP_NS, GAP_INTERVALS * interval)
    runs: list[list[Any]] = []  # [first info, last ts, frames, size]
    previous_ts: int | None = None
    for f in infos:
        current = runs[-1] if runs else None
        after_gap = previous_ts is not None and f.ts - previous_ts > gap_ns
        if f.keyframe and (current is None or after_gap or f.segment != current[0].segment
                           or f.ts - current[0].ts >= PART_NS):
            runs.append([f, f.ts, 1, f.size])
        elif current is not None:  # (frames before the first keyframe cannot be decoded: none are listed)
            current[1] = max(current[1], f.ts)
            current[2] += 1
            current[3] += f.size
        previous_ts = f.ts
    parts: list[Part] = []
    for i, (first, last_ts, frames, size) in enumerate(runs):
        after = runs[i + 1][0].ts if i + 1 < len(runs) else None
        if after is not None and after - last_ts <= gap_ns:
            part_end = after
        else:
            part_end = min(end, last_ts + interval) if last_ts < end else last_ts + 1
        parts.append(Part(first.ts, part_end, frames, size))
    return parts, gaps_between(parts, start, end)


def gaps_between(parts: Sequence[Part], start: int, end: int) -> list[Gap]:
    gaps: list[Gap] = []
    at = start
    for p in parts:
        if p.start > at:
            gaps.append(Gap(at, p.start))
        at = max(at, p.end)
    if at < end:
        gaps.append(Gap(at, end))
    return gaps
