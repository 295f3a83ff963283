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
from .boxes import grow
from .config import Redaction
from .detector import Detector
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

    def checked(frames: Iterable[PlayedFrame]) -> Iterator[PlayedFrame]:
        for frame in frames:
            if not (frame.redacted or allow_raw):
                raise RedactionError(f"frame at ts={frame.ts} was not redacted; refusing to write it to "
                                     f"{out_path}", ts=frame.ts)
            yield frame

    return write_mp4(checked(frames), out_path, fps=fps, progress=progress)


def build_detectors(redaction: Redaction) -> list[Detector]:
    """The built-in detectors the settings ask for, then the caller's own.
    Raises ModelMissingError now, before any footage is touched."""
    from .centerface import CenterFaceDetector
    from .plates import PlateDetector

    out: list[Detector] = []
    common = {"threads": redaction.threads, "providers": redaction.providers, "models": redaction.models}
    floor = redaction.min_score if redaction.min_score is not None else 1.0
    if redaction.faces:
        out.append(CenterFaceDetector(input_width=redaction.detect_width,
                                      threshold=min(CenterFaceDetector.THRESHOLD, floor), **common))
    if redaction.plates:
        out.append(PlateDetector(input_width=redaction.plate_width or redaction.detect_width,
                                 threshold=min(PlateDetector.THRESHOLD, floor), **common))
    out.extend(redaction.detectors)
    return out


#: Default lowest score hidden per built-in kind; fail-closed leans low.
DEFAULT_MIN_SCORE = {"face": 0.35, "plate": 0.4}
FALLBACK_MIN_SCORE = 0.5


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
        for index, (ts, image) in enumerate(pictures):
            if index == 0:
                first_ts = ts
            elif index == 1 and first_ts is not None and ts > first_ts:
                tracker.keep_lost = max(1, round(r.keep_lost * 1e9 / (ts - first_ts)))
            image = _checked_picture(image, ts, where)
            pending.append((index, ts, image))
            if index % every == 0:
                per_frame[index] = self._detect(tracker, index, ts, image, where)
                yield from self._release(tracker, pending, per_frame)
                pending.clear()
                per_frame.clear()
        if pending:  # pictures after the last detection frame: detect on the last one, for them all
            index, ts, image = pending[-1]
            per_frame[index] = self._detect(tracker, index, ts, image, where)
            yield from self._release(tracker, pending, per_frame)

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
            dets = dets[dets[:, 4] >= floor]
            if self.redaction.track:
                tracker.update(index, detector.kind, dets)
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
            # Rounded outwards; unclipped, so an ellipse at the edge keeps its shape.
            gx0, gy0, gx1, gy1 = grow(b.box, r.margin)
            x0, y0, x1, y1 = int(np.floor(gx0)), int(np.floor(gy0)), int(np.ceil(gx1)), int(np.ceil(gy1))
            if min(x1, width) <= max(x0, 0) or min(y1, height) <= max(y0, 0):
                continue
            shape = r.shape if r.shape != "auto" else ("ellipse" if b.kind == "face" else "rectangle")
            by_shape[shape].append((x0, y0, x1, y1))
            hidden.append(HiddenBox(b.kind, x0, y0, x1, y1, shape, b.score, b.track if b.track >= 0 else None,
                                    b.state))
        for shape, regions in by_shape.items():
            if regions:
                redact_regions(image, regions, method=r.method, shape=shape, strength=r.strength,
                                     color=tuple(r.color))
        self.kernel_seconds += time.perf_counter() - t
        return tuple(hidden)


def _checked_picture(image: np.ndarray, ts: int, where: str) -> np.ndarray:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 3):
        raise RedactionError(f"picture at ts={ts}{where} is not an HxWx3 uint8 array", ts=ts)
    return np.ascontiguousarray(image)


def _checked_detections(raw: object, detector: Detector, ts: int, where: str) -> np.ndarray:
    try:
        dets = np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise RedactionError(f"{type(detector).__name__} returned {type(raw).__name__}, not an (N, 5) "
                             f"array, at ts={ts}{where}", ts=ts) from e
    if dets.size == 0:
        return np.zeros((0, 5), dtype=np.float32)
    if dets.ndim != 2 or dets.shape[1] < 5 or not np.isfinite(dets[:, :5]).all():
        raise RedactionError(f"{type(detector).__name__} returned an array of shape {dets.shape} "
                             f"(or non-finite values) at ts={ts}{where}; expected (N, 5) finite floats", ts=ts)
    return dets[:, :5]
