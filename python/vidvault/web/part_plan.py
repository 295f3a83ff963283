"""Cutting a range's footage into parts a browser fetches one by one: each
part begins at a keyframe and holds whole GOPs, a few seconds of them, so a
player that seeks fetches only the parts around the instant it seeks to.

Where the footage has a gap is the store's to say (:meth:`vidvault.Store.gaps`:
its segments' coverage, stretches shorter than its gap threshold ignored),
the same gaps the timeline shows on the scrub bar, so the player skips
exactly the holes the viewer sees there. No part spans one of these gaps: a
part before a gap ends where the gap begins (never before its last frame),
and the next part begins at the first keyframe after it (frames before that
keyframe would need a GOP from before the gap: none are listed). Otherwise
a part ends where the next one begins, even across a hole shorter than the
threshold (the player plays on past it without a word, as the timeline
shows footage there); the last part ends one frame interval after its last
frame.

The listing's gaps are the stretches of the range no part covers: the
store's gaps; where the grant's window cuts a GOP, the stretch before the
first keyframe inside the window (those pictures are never shown); and at
the range's ends, before its first keyframe and after its last frame,
however short (there is nothing to play there).
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Sequence

from ..records import Gap
from ..timeutil import NS_PER_SECOND

#: A new part begins at the first keyframe this long after its start (so a
#: part holds one GOP or more: 4 s up to 4 s + one GOP; a longer GOP is a part).
PART_NS = 4 * NS_PER_SECOND


@dataclass(frozen=True)
class Part:
    start: int  # the wall-clock time of its first frame, a keyframe
    end: int  # where the next part or a gap begins, or one frame interval after its last frame
    frames: int
    size: int  # bytes of stored access units

    @property
    def duration_ns(self) -> int:
        return self.end - self.start


@dataclass
class _Run:
    """The frames of a part being planned."""

    first: Any
    stretch: int  # how many of the store's gaps end before it: runs of one stretch have no gap between them
    last_ts: int
    frames: int
    size: int


def frame_interval(infos: Sequence[Any]) -> int:
    """The typical time between frames (the median), 40 ms when one frame
    alone cannot tell."""
    times = sorted(f.ts for f in infos)
    steps = [b - a for a, b in zip(times, times[1:]) if b > a]
    return int(statistics.median(steps)) if steps else NS_PER_SECOND // 25


def plan(infos: Sequence[Any], start: int, end: int, gaps: Sequence[Gap]) -> tuple[list[Part], list[Gap]]:
    """The parts of ``infos`` (decode order, as the session lists the
    frames of ``[start, end)``) and the gaps of ``[start, end)`` they leave,
    given the store's ``gaps`` of that range. A part also begins at each
    segment's first frame (a keyframe), so one part holds one codec
    configuration."""
    gaps = sorted(gaps, key=lambda g: g.start)
    gap_ends = [g.end for g in gaps]
    runs: list[_Run] = []
    for f in infos:
        stretch = bisect_right(gap_ends, f.ts)
        current = runs[-1] if runs else None
        if f.keyframe and (current is None or stretch != current.stretch or f.segment != current.first.segment
                           or f.ts - current.first.ts >= PART_NS):
            runs.append(_Run(f, stretch, f.ts, 1, f.size))
        elif current is not None and stretch == current.stretch:
            current.last_ts = max(current.last_ts, f.ts)
            current.frames += 1
            current.size += f.size
        # else: before the first keyframe, or after a gap before the keyframe that follows it: these
        # frames cannot be decoded without a GOP that is not in their part, so none are listed.
    interval = frame_interval(infos)
    parts: list[Part] = []
    for i, run in enumerate(runs):
        after = runs[i + 1] if i + 1 < len(runs) else None
        if after is not None and after.stretch == run.stretch:
            part_end = after.first.ts
        elif run.stretch < len(gaps):  # a gap follows
            part_end = max(gaps[run.stretch].start, run.last_ts + 1)
        else:
            part_end = min(end, run.last_ts + interval) if run.last_ts < end else run.last_ts + 1
        parts.append(Part(run.first.ts, part_end, run.frames, run.size))
    return parts, gaps_between(parts, start, end)


def gaps_between(parts: Sequence[Part], start: int, end: int) -> list[Gap]:
    """The stretches of ``[start, end)`` no part covers."""
    gaps: list[Gap] = []
    at = start
    for p in parts:
        if p.start > at:
            gaps.append(Gap(at, p.start))
        at = max(at, p.end)
    if at < end:
        gaps.append(Gap(at, end))
    return gaps
