"""Carries detections across frames so a face or plate stays hidden on the
frames where the detector did not run, or ran and missed it.

Playback runs the detectors on every Nth frame and holds the frames between
in a short buffer, so when a frame is shown the tracker already knows the
detections on both sides of it:

- a track seen before and after the frame: its box is interpolated;
- a track first seen after the frame (it entered, or was missed): its first
  box, grown, is also hidden on the frames up to one detection interval back;
- a track not seen since (lost: occluded, turned away, missed): its box
  moves on with its velocity and grows with every frame, and is kept for
  ``keep_lost`` frames before it is dropped.

Unconfirmed tracks (seen once) get an extra margin: a new detection's size
and motion are the least certain. Association is greedy on IoU between each
track's predicted box and the new detections, with a centre-distance gate for
small fast objects whose boxes no longer overlap between detections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .boxes import grow, iou_matrix, normalised

#: Lowest IoU that still associates a detection with a track.
MIN_IOU = 0.1
#: Without overlap, a detection within this many track-sizes of the predicted
#: centre still associates (weaker than any overlap).
MAX_CENTRE_DISTANCE = 1.0
#: Growth per frame of a box that is extrapolated (lost) or back-filled, as a
#: fraction of its size on each side, and its cap.
GROWTH_PER_FRAME = 0.04
MAX_GROWTH = 0.6
#: Extra margin of a track seen only once.
UNCONFIRMED_MARGIN = 0.15
#: Observations kept per track (interpolation needs the last two).
HISTORY = 3


@dataclass
class Track:
    id: int
    kind: str
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.float32))
    hits: int = 0

    def observe(self, frame: int, box: np.ndarray, score: float) -> None:
        if self.frames:
            step = (box - self.boxes[-1]) / max(1, frame - self.frames[-1])
            # Smooth the velocity: single detections jitter by a few pixels.
            self.velocity = step if self.hits == 1 else 0.5 * self.velocity + 0.5 * step
        self.frames.append(frame)
        self.boxes.append(np.asarray(box, dtype=np.float32))
        self.scores.append(float(score))
        del self.frames[:-HISTORY], self.boxes[:-HISTORY], self.scores[:-HISTORY]
        self.hits += 1

    def predict(self, frame: int) -> np.ndarray:
        """The box moved on with its velocity. Its size never drops below the
        last one seen: a track shrinking between detections would otherwise
        be extrapolated to an empty or inverted box, hiding nothing."""
        last = self.boxes[-1]
        moved = normalised(last + self.velocity * (frame - self.frames[-1]))
        centre = (moved[:2] + moved[2:]) / 2
        half = np.maximum(moved[2:] - moved[:2], last[2:] - last[:2]) / 2
        return normalised(np.concatenate([centre - half, centre + half]))


@dataclass(frozen=True)
class TrackedBox:
    """A box to hide on one frame, and why."""

    kind: str
    box: np.ndarray       # x0, y0, x1, y1 (float pixels, before margin)
    score: float
    track: int
    state: str            # "detected" | "interpolated" | "backfilled" | "coasting"


class Tracker:
    """Tracks of one playback. ``keep_lost`` and ``backfill`` in frames."""

    def __init__(self, *, keep_lost: int, backfill: int) -> None:
        self.keep_lost = keep_lost
        self.backfill = backfill
        self._tracks: list[Track] = []
        self._next_id = 1

    def update(self, frame: int, kind: str, detections: np.ndarray) -> None:
        """Associates one detector's detections on ``frame`` (N, 5) with the
        tracks of that kind; unmatched detections start new tracks."""
        tracks = [t for t in self._tracks if t.kind == kind and t.frames[-1] < frame]
        predicted = np.array([t.predict(frame) for t in tracks], dtype=np.float32).reshape(-1, 4)
        affinity = iou_matrix(predicted, detections[:, :4])
        if len(tracks) and len(detections):
            affinity = np.where(affinity >= MIN_IOU, affinity, 0.0)
            pc = (predicted[:, None, :2] + predicted[:, None, 2:]) / 2
            dc = (detections[None, :, :2] + detections[None, :, 2:4]) / 2
            size = np.maximum(predicted[:, 2] - predicted[:, 0], predicted[:, 3] - predicted[:, 1])[:, None]
            distance = np.linalg.norm(pc - dc, axis=2) / np.maximum(size, 1.0)
            gated = (affinity == 0) & (distance <= MAX_CENTRE_DISTANCE)
            affinity = np.where(gated, 0.01 * (1 - distance / MAX_CENTRE_DISTANCE) + 1e-6, affinity)
        matched_det: set[int] = set()
        while affinity.size and affinity.max() > 0:
            ti, di = np.unravel_index(int(np.argmax(affinity)), affinity.shape)
            tracks[ti].observe(frame, detections[di, :4], detections[di, 4])
            matched_det.add(int(di))
            affinity[ti, :] = 0
            affinity[:, di] = 0
        for di in range(len(detections)):
            if di not in matched_det:
                track = Track(self._next_id, kind)
                self._next_id += 1
                track.observe(frame, detections[di, :4], detections[di, 4])
                self._tracks.append(track)
        # Kept `backfill` frames longer than it is shown: the pictures held
        # back before this detection frame may still be within its time.
        self._tracks = [t for t in self._tracks if frame - t.frames[-1] <= self.keep_lost + self.backfill]

    def boxes_at(self, frame: int) -> list[TrackedBox]:
        """Boxes to hide on ``frame`` (at or before the last update)."""
        out = []
        for t in self._tracks:
            found = self._box_at(t, frame)
            if found is not None:
                box, state = found
                if t.hits < 2:
                    box = grow(box, UNCONFIRMED_MARGIN)
                out.append(TrackedBox(t.kind, box, t.scores[-1], t.id, state))
        return out

    def _box_at(self, t: Track, frame: int) -> tuple[np.ndarray, str] | None:
        first, last = t.frames[0], t.frames[-1]
        if frame < first:
            gap = first - frame
            if gap > self.backfill:
                return None
            return grow(t.boxes[0], min(MAX_GROWTH, GROWTH_PER_FRAME * gap)), "backfilled"
        if frame > last:
            gap = frame - last
            if gap > self.keep_lost:
                return None
            return grow(t.predict(frame), min(MAX_GROWTH, GROWTH_PER_FRAME * gap)), "coasting"
        for a, b, box_a, box_b in zip(t.frames, t.frames[1:], t.boxes, t.boxes[1:]):
            if a <= frame <= b:
                w = (frame - a) / (b - a)
                return box_a * (1 - w) + box_b * w, ("detected" if frame in (a, b) else "interpolated")
        return t.boxes[-1], "detected"  # frame == first == last
