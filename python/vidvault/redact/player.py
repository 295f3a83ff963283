"""The redacting player: pictures in, pictures with faces and plates hidden out.

It is fail-closed by construction. Detectors are built (and their model
files checked) before the first picture is read; a detector that raises or
returns something malformed ends playback with a :class:`RedactionError`,
and the pictures waiting in the buffer are dropped, never shown. A picture
leaves the player only after the kernels ran on every box the tracker holds
for it.

Pictures are held back until the next detection frame (at most
``detect_every - 1`` of them), so boxes found there are also applied to the
pictures before it: playback runs that many frames behind decoding.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterable, Iterator

import numpy as np

from .._core import redact_regions
from ..errors import RedactionError
from ..media.encode import write_mp4
from .boxes import COORD_LIMIT, grow, normalised
from .config import Redaction
from .detector import Detector
from .head_zone import head_zone
from .tracker import TrackedBox, Tracker

#: Frame rate assumed until two pictures have shown the real one.
DEFAULT_FPS = 25.0


@dataclass(frozen=True)
class HiddenBox:
    """One region hidden on one frame: ``[x0, x1) x [y0, y1)`` in pixels as
    given to the kernel (margin included; may reach past the frame's edge,
    where it is clipped), and the ``shape`` hidden inside it."""

    kind: str
    x0: int
    y0: int
    x1: int
    y1: int
    shape: str  # "ellipse" | "rectangle"
    score: float
    track: int | None
    state: str  # "detected" | "interpolated" | "backfilled" | "coasting"


@dataclass(frozen=True)
class PlayedFrame:
    """A decoded picture as played: ``image`` is ``HxWx3 uint8`` **RGB**."""

    ts: int
    image: np.ndarray
    boxes: tuple[HiddenBox, ...]
    redacted: bool

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


def write_redacted_mp4(
    frames: Iterable[PlayedFrame],
    out_path: str | os.PathLike[str],
    *,
    fps: float | Fraction = 25,
    allow_raw: bool = False,
    progress: Callable[[PlayedFrame, int], None] | None = None,
) -> int:
    """Encodes played frames into an MP4 (:func:`vidvault.media.encode.write_mp4`);
    returns the number written. The one place redacted footage becomes a
    file (`vidvault play --out`, the redacted copy of an export): a frame the
    player did not mark redacted ends the write with a RedactionError, and
    no file is left, unless ``allow_raw=True`` (raw footage, asked for)."""

    checked = frames if allow_raw else only_redacted(frames, str(out_path))
    return write_mp4(checked, out_path, fps=fps, progress=progress)


def only_redacted(frames: Iterable[PlayedFrame], where: str) -> Iterator[PlayedFrame]:
    """``frames``, ending with a RedactionError at the first the player did
    not mark redacted: the last guard before pictures leave as video."""
    for frame in frames:
        if not frame.redacted:
            raise RedactionError(f"frame at ts={frame.ts} was not redacted; refusing to write it to {where}",
                                 ts=frame.ts)
        yield frame


def build_detectors(redaction: Redaction) -> list[Detector]:
    """The built-in detectors the settings ask for, then the caller's own.
    Raises ModelMissingError now, before any footage is touched."""
    from .centerface import CenterFaceDetector
    from .hog_people import HogPeopleDetector
    from .motion_people import MotionPeopleDetector
    from .plates import PlateDetector
    from .tiled_faces import TiledFaceDetector

    out: list[Detector] = []
    common = {"threads": redaction.threads, "providers": redaction.providers, "models": redaction.models}
    floor = redaction.min_score if redaction.min_score is not None else 1.0
    if redaction.faces:
        faces = CenterFaceDetector(input_width=redaction.detect_width,
                                   threshold=min(CenterFaceDetector.THRESHOLD, floor), **common)
        out.append(faces if redaction.face_tiles is None else TiledFaceDetector(faces, scale=redaction.face_tiles))
    if redaction.plates:
        out.append(PlateDetector(input_width=redaction.plate_width or redaction.detect_width,
                                 threshold=min(PlateDetector.THRESHOLD, floor), **common))
    if redaction.people:
        out.append(MotionPeopleDetector() if redaction.people_detector == "motion" else HogPeopleDetector())
    out.extend(redaction.detectors)
    return out


#: Default lowest score hidden per built-in kind; fail-closed leans low.
#: People detectors gate their own output (shape, SVM margin): all of it is hidden.
DEFAULT_MIN_SCORE = {"face": 0.35, "plate": 0.4, "person": 0.0}
FALLBACK_MIN_SCORE = 0.5
#: Detections scoring at least this share of the floor, but under it, may
#: continue a track (never start one): it hides more, never less.
WEAK_FLOOR = 0.5


class RedactingPlayer:
    """Hides faces and plates in a stream of ``(ts, RGB image)`` pictures.

    One player serves one stream at a time; build it once and call
    :meth:`run` per clip to reuse the loaded models.
    """

    def __init__(self, redaction: Redaction, detectors: list[Detector] | None = None) -> None:
        self.redaction = redaction
        self.detectors = build_detectors(redaction) if detectors is None else detectors
        if not self.detectors:
            raise RedactionError("no detector to run: redaction would hide nothing")
        #: Seconds spent in detectors / kernels during the last run (for benchmarks).
        self.detect_seconds = 0.0
        self.kernel_seconds = 0.0

    def run(self, pictures: Iterable[tuple[int, np.ndarray]], *, where: str = "") -> Iterator[PlayedFrame]:
        """Yields every picture, in order, with its boxes hidden. ``where``
        names the source in error messages (camera, file)."""
        r = self.redaction
        every = r.detect_every
        tracker = Tracker(keep_lost=round(r.keep_lost * DEFAULT_FPS), backfill=every)
        pending: list[tuple[int, int, np.ndarray]] = []  # (index, ts, image)
        per_frame: dict[int, list[TrackedBox]] = {}
        first_ts: int | None = None
        # Stateful detectors (a background model) start afresh per clip and
        # learn from every picture, not only from the detection frames.
        for detector in self.detectors:
            reset = getattr(detector, "reset", None)
            if callable(reset):
                reset()
        observers = [o for o in (getattr(d, "observe", None) for d in self.detectors) if callable(o)]
        for index, (ts, image) in enumerate(pictures):
            if index == 0:
                first_ts = ts
            elif index == 1 and first_ts is not None and ts > first_ts:
                tracker.keep_lost = max(1, round(r.keep_lost * 1e9 / (ts - first_ts)))
            image = _checked_picture(image, ts, where)
            pending.append((index, ts, image))
            if index % every and observers:
                self._observe(observers, ts, image, where)
            if index % every == 0:
                per_frame[index] = self._detect(tracker, index, ts, image, where)
                yield from self._release(tracker, pending, per_frame)
                pending.clear()
                per_frame.clear()
        if pending:  # pictures after the last detection frame: detect on the last one, for them all
            index, ts, image = pending[-1]
            per_frame[index] = self._detect(tracker, index, ts, image, where)
            yield from self._release(tracker, pending, per_frame)

    def _observe(self, observers: list[Callable[[np.ndarray], object]], ts: int, image: np.ndarray,
                 where: str) -> None:
        t = time.perf_counter()
        for observe in observers:
            try:
                observe(image)
            except Exception as e:  # a model that cannot learn cannot be trusted on the next detection
                raise RedactionError(
                    f"{getattr(observe, '__qualname__', 'a detector')} failed on the frame at ts={ts}{where}: {e}; "
                    "playback stopped (no unchecked frame is shown)", ts=ts) from e
        self.detect_seconds += time.perf_counter() - t

    def _detect(self, tracker: Tracker, index: int, ts: int, image: np.ndarray, where: str) -> list[TrackedBox]:
        found: list[TrackedBox] = []
        t = time.perf_counter()
        for detector in self.detectors:
            try:
                raw = detector.detect(image)
            except Exception as e:  # any failure means this frame was not checked
                raise RedactionError(
                    f"{type(detector).__name__} failed on the frame at ts={ts}{where}: {e}; "
                    "playback stopped (no unchecked frame is shown)",
                    ts=ts, detector=type(detector).__name__,
                ) from e
            dets = _checked_detections(raw, detector, ts, where)
            floor = self.redaction.min_score
            if floor is None:
                floor = DEFAULT_MIN_SCORE.get(detector.kind, FALLBACK_MIN_SCORE)
            weak = dets[(dets[:, 4] < floor) & (dets[:, 4] >= floor * WEAK_FLOOR)]
            dets = dets[dets[:, 4] >= floor]
            if self.redaction.track:
                tracker.update(index, detector.kind, dets, weak)
            else:
                found.extend(TrackedBox(detector.kind, d[:4], float(d[4]), -1, "detected") for d in dets)
        self.detect_seconds += time.perf_counter() - t
        return found

    def _release(
        self, tracker: Tracker, pending: list[tuple[int, int, np.ndarray]], per_frame: dict[int, list[TrackedBox]]
    ) -> Iterator[PlayedFrame]:
        for index, ts, image in pending:
            boxes = tracker.boxes_at(index) if self.redaction.track else per_frame.get(index, [])
            hidden = self.hide(image, boxes)
            yield PlayedFrame(ts, image, hidden, True)

    def hide(self, image: np.ndarray, boxes: list[TrackedBox]) -> tuple[HiddenBox, ...]:
        """Applies the kernels to ``image`` in place; returns what was hidden."""
        t = time.perf_counter()
        r = self.redaction
        height, width = image.shape[:2]
        by_shape: dict[str, list[tuple[int, int, int, int]]] = {"ellipse": [], "rectangle": []}
        hidden = []
        for b in boxes:
            if b.kind == "person" and r.people == "head":
                b = TrackedBox("head", head_zone(b.box, width, height), b.score, b.track, b.state)
            region = _kernel_region(b, r.margin, width, height)
            if region is None:  # entirely outside the picture: nothing of it to hide
                continue
            x0, y0, x1, y1, far = region
            shape = r.shape if r.shape != "auto" else ("ellipse" if b.kind == "face" else "rectangle")
            if far:  # a box reaching far past the picture: its shape says nothing, hide all of it in view
                shape = "rectangle"
            by_shape[shape].append((x0, y0, x1, y1))
            hidden.append(HiddenBox(b.kind, x0, y0, x1, y1, shape, b.score, b.track if b.track >= 0 else None,
                                    b.state))
        for shape, regions in by_shape.items():
            if regions:
                redact_regions(image, regions, method=r.method, shape=shape, strength=r.strength,
                                     color=tuple(r.color))
        self.kernel_seconds += time.perf_counter() - t
        return tuple(hidden)


def _kernel_region(b: TrackedBox, margin: float, width: int, height: int) -> tuple[int, int, int, int, bool] | None:
    """The pixel box the kernel gets for ``b`` (grown by ``margin``, rounded
    outwards, unclipped so an ellipse at the edge keeps its shape), and
    whether it reaches more than one picture size past an edge (then it is
    clamped there and hidden as a rectangle); None when none of it is in view.
    Raises RedactionError for a non-finite box (a tracker bug: fail closed)."""
    box = np.asarray(grow(b.box, margin), dtype=np.float64)
    if box.shape != (4,) or not np.isfinite(box).all():
        raise RedactionError(f"the {b.kind} box {box} of track {b.track} ({b.state}) is not four finite numbers; "
                             "playback stopped, no unchecked frame is shown")
    gx0, gy0, gx1, gy1 = min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])
    x0, y0, x1, y1 = int(np.floor(gx0)), int(np.floor(gy0)), int(np.ceil(gx1)), int(np.ceil(gy1))
    if min(x1, width) <= max(x0, 0) or min(y1, height) <= max(y0, 0):
        return None
    far = x0 < -width or y0 < -height or x1 > 2 * width or y1 > 2 * height
    if far:
        x0, y0, x1, y1 = max(x0, -width), max(y0, -height), min(x1, 2 * width), min(y1, 2 * height)
    return x0, y0, x1, y1, far


def _checked_picture(image: np.ndarray, ts: int, where: str) -> np.ndarray:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 3):
        raise RedactionError(f"picture at ts={ts}{where} is not an HxWx3 uint8 array", ts=ts)
    return np.ascontiguousarray(image)


def _checked_detections(raw: object, detector: Detector, ts: int, where: str) -> np.ndarray:
    """The detector's rows as an (N, 5) float32 array with ordered corners.

    Swapped corners (``x1 < x0`` or ``y1 < y0``) are put in order, so the box
    is hidden rather than skipped; coordinates are clamped to
    :data:`~.boxes.COORD_LIMIT`. Anything else that is not N rows of at
    least five finite numbers raises RedactionError naming the detector, the
    frame and the first bad row: a frame whose detections cannot be read was
    not checked, and is not shown."""
    name = type(detector).__name__
    fix = (f"fix {name}.detect() to return an (N, 5) float array of x0, y0, x1, y1, score in pixels, "
           "or leave it out of Redaction(detectors=...); playback stopped, no unchecked frame is shown")
    if isinstance(raw, np.ndarray) and raw.dtype.kind not in "biuf":
        raise RedactionError(f"{name} returned an array of {raw.dtype}, not of real numbers, at ts={ts}{where}; "
                             f"{fix}", ts=ts, detector=name)
    try:  # float64 first: a finite value past float32's range must not turn into inf
        dets = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as e:
        raise RedactionError(f"{name} returned {type(raw).__name__}, not an (N, 5) array, at ts={ts}{where} "
                             f"({e}); {fix}", ts=ts, detector=name) from e
    if dets.ndim >= 1 and dets.shape[0] == 0 and (dets.ndim == 1 or (dets.ndim == 2 and dets.shape[1] >= 5)):
        return np.zeros((0, 5), dtype=np.float32)
    if dets.ndim != 2 or dets.shape[1] < 5:
        raise RedactionError(f"{name} returned an array of shape {dets.shape} at ts={ts}{where}, expected "
                             f"(N, 5) rows of x0, y0, x1, y1, score; {fix}", ts=ts, detector=name)
    rows = dets[:, :5]
    bad = np.flatnonzero(~np.isfinite(rows).all(axis=1))
    if len(bad):
        row = raw_row(raw, int(bad[0]))
        raise RedactionError(f"{name} returned a box with a non-finite value (NaN or infinity) at ts={ts}{where}: "
                             f"row {int(bad[0])} {row} ({len(bad)} such rows); {fix}", ts=ts, detector=name)
    out = np.empty(rows.shape, dtype=np.float32)
    out[:, :4] = normalised(np.clip(rows[:, :4], -COORD_LIMIT, COORD_LIMIT))
    out[:, 4] = np.clip(rows[:, 4], -1.0, 2.0)  # scores are compared with a floor in [0, 1]
    return out


def raw_row(raw: object, i: int) -> str:
    """Row ``i`` of what a detector returned, for an error message."""
    try:
        return np.array2string(np.asarray(raw, dtype=np.float64)[i][:5], precision=6)
    except Exception:  # noqa: BLE001 - only for the message
        return "(unprintable)"
