"""Carries detections across frames so a face or plate stays hidden on the
frames where the detector did not run, or ran and missed it.

Playback runs the detectors on every Nth frame and holds the frames between
in a short buffer, so when a frame is shown the tracker already knows the
detections on both sides of it:

- a track seen before and after the frame: its box is interpolated;
- a track first seen after the frame (it entered, or was missed): its first
  box, grown, is also hidden on the frames up to one detection interval back;
- a track not seen since (lost: occluded, turned away, missed): its box
  moves on with its velocity and grows with every frame, and the area it
  swept from where it was last seen to where it is predicted stays hidden
  too (it may have slowed or stopped); it is kept for ``keep_lost`` frames
  before it is dropped.

Unconfirmed tracks (seen once) get an extra margin: a new detection's size
and motion are the least certain. Association is greedy on IoU between each
track's predicted box and the new detections. A detection that does not
overlap the prediction still associates when it lies inside the predicted
box grown by how far the object may have gone since it was last seen
(:func:`reach`): a multiple of its own speed and size for a confirmed track,
of its size alone for one seen once. A fixed pixel distance would lose a
14 px face moving 10 px a frame (30 px between detections every 3rd frame)
and let a 200 px face jump to a neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .boxes import area, grow, intersection_matrix, iou_matrix, normalised

#: Lowest IoU that still associates a detection with a track.
MIN_IOU = 0.1
#: How far a track seen once may have moved per frame, its velocity being
#: unknown: its whole size for a small face (one of 20 px crossing a 720p
#: frame in 2 s moves 17 px a frame), less for a large one (a face of 300 px
#: is close to the camera and fills a third of the frame: a step moves it by
#: a fraction of its size). In pixels: min(size, UNKNOWN_PIXELS + UNKNOWN_SHARE * size).
UNKNOWN_PIXELS = 16.0
UNKNOWN_SHARE = 0.25
#: For a track with a velocity: the share of its speed it may have gained or
#: lost per frame, and its own sizes per frame it may have turned aside.
SPEED_CHANGE = 0.5
SIDE_STEP = 0.1
#: The reach never exceeds this many of the track's sizes, however long it
#: was lost (a small face missed on one detection is 6 frames on).
MAX_REACH = 6.0
#: A box whose motion is unknown (back-filled before a track's first
#: detection, or coasting after the only one) grows by that unknown motion
#: per frame on each side, up to this many sizes: it may have gone any way.
MAX_UNKNOWN_GROWTH = 1.0
#: Share of a detection's area inside the grown prediction that associates
#: it, and the most its size may differ from the track's (either way).
MIN_INSIDE = 0.5
MAX_SIZE_RATIO = 2.0
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

    def size(self) -> float:
        """The longer side of its last box."""
        last = self.boxes[-1]
        return float(max(last[2] - last[0], last[3] - last[1], 1.0))

    def reach(self, frame: int) -> float:
        """Pixels (on each side) by which the object may be off its predicted
        box on ``frame``: how far it may have gone since it was last seen."""
        gap = frame - self.frames[-1]
        size = self.size()
        if self.hits < 2:
            per_frame = unknown_motion(size)
        else:
            speed = float(np.hypot(*((self.velocity[:2] + self.velocity[2:]) / 2)))
            per_frame = SPEED_CHANGE * speed + SIDE_STEP * size
        return min(MAX_REACH * size, gap * per_frame)


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

    def update(self, frame: int, kind: str, detections: np.ndarray, weak: np.ndarray | None = None) -> None:
        """Associates one detector's detections on ``frame`` (N, 5) with the
        tracks of that kind; unmatched detections start new tracks.
        ``weak`` detections (scores under the floor that starts a track) only
        continue a track none of ``detections`` continued: a small face
        scores near the floor, above it on one detection and below on the
        next, and is the same face on both."""
        tracks = [t for t in self._tracks if t.kind == kind and t.frames[-1] < frame]
        matched_det = self._match(tracks, frame, detections)
        if weak is not None and len(weak):
            self._match([t for t in tracks if t.frames[-1] < frame], frame, weak)
        for di in range(len(detections)):
            if di not in matched_det:
                track = Track(self._next_id, kind)
                self._next_id += 1
                track.observe(frame, detections[di, :4], detections[di, 4])
                self._tracks.append(track)
        # Kept `backfill` frames longer than it is shown: the pictures held
        # back before this detection frame may still be within its time.
        self._tracks = [t for t in self._tracks if frame - t.frames[-1] <= self.keep_lost + self.backfill]

    @staticmethod
    def _match(tracks: list[Track], frame: int, detections: np.ndarray) -> set[int]:
        """Greedy association of ``detections`` with ``tracks``; the indices of those matched."""
        predicted = np.array([t.predict(frame) for t in tracks], dtype=np.float32).reshape(-1, 4)
        affinity = association(tracks, predicted, frame, detections[:, :4])
        matched: set[int] = set()
        while affinity.size and affinity.max() > 0:
            ti, di = np.unravel_index(int(np.argmax(affinity)), affinity.shape)
            tracks[ti].observe(frame, detections[di, :4], detections[di, 4])
            matched.add(int(di))
            affinity[ti, :] = 0
            affinity[:, di] = 0
        return matched

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
            # Where it came from is unknown even when it was seen again since.
            return grow(t.boxes[0], unknown_growth(t.boxes[0], gap)), "backfilled"
        if frame > last:
            gap = frame - last
            if gap > self.keep_lost:
                return None
            if t.hits < 2:
                return grow(t.boxes[-1], unknown_growth(t.boxes[-1], gap)), "coasting"
            swept = hull(t.boxes[-1], t.predict(frame))
            return grow(swept, min(MAX_GROWTH, GROWTH_PER_FRAME * gap)), "coasting"
        for a, b, box_a, box_b in zip(t.frames, t.frames[1:], t.boxes, t.boxes[1:]):
            if a <= frame <= b:
                w = (frame - a) / (b - a)
                return box_a * (1 - w) + box_b * w, ("detected" if frame in (a, b) else "interpolated")
        return t.boxes[-1], "detected"  # frame == first == last


def association(tracks: list[Track], predicted: np.ndarray, frame: int, detections: np.ndarray) -> np.ndarray:
    """(tracks, detections) affinities for the greedy match, 0 where a pair
    may not associate. Overlap with the predicted box ranks first (its IoU);
    a detection inside the prediction grown by the track's reach and of a
    similar size ranks below any overlap, the nearer the better."""
    iou = iou_matrix(predicted, detections)
    if not len(tracks) or not len(detections):
        return iou
    reach = np.array([t.reach(frame) for t in tracks], dtype=np.float32)
    grown = predicted + reach[:, None] * np.array([-1, -1, 1, 1], dtype=np.float32)
    inside = intersection_matrix(grown, detections) / np.maximum(area(detections), 1e-9)[None, :]
    track_size = np.array([t.size() for t in tracks], dtype=np.float32)[:, None]
    det_size = np.maximum(detections[:, 2] - detections[:, 0], detections[:, 3] - detections[:, 1])[None, :]
    ratio = np.maximum(track_size, 1.0) / np.maximum(det_size, 1.0)
    similar = (ratio <= MAX_SIZE_RATIO) & (ratio >= 1 / MAX_SIZE_RATIO)
    pc = (predicted[:, None, :2] + predicted[:, None, 2:]) / 2
    dc = (detections[None, :, :2] + detections[None, :, 2:]) / 2
    nearness = 1 - np.linalg.norm(pc - dc, axis=2) / (track_size + 2 * reach[:, None] + 1.0)
    gated = (inside >= MIN_INSIDE) & similar
    return np.where(iou >= MIN_IOU, iou, np.where(gated, 0.01 * np.clip(nearness, 0, 1) + 1e-6, 0.0))


def unknown_motion(size: float) -> float:
    """Pixels per frame an object of ``size`` px of unknown velocity may move."""
    return min(size, UNKNOWN_PIXELS + UNKNOWN_SHARE * size)


def unknown_growth(box: np.ndarray, frames: int) -> float:
    """Growth (fraction of its size per side) of a box whose motion is
    unknown, ``frames`` from where it was seen."""
    size = float(max(box[2] - box[0], box[3] - box[1], 1.0))
    return min(MAX_UNKNOWN_GROWTH, frames * unknown_motion(size) / size)


def hull(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest box holding boxes ``a`` and ``b``."""
    return np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])]).astype(np.float32)
