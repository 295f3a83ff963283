"""People on a fixed camera as person-shaped moving blobs: OpenCV's MOG2
background model (Zivkovic 2004/2006) marks the pixels that differ from
what the camera usually sees there, shadows apart; blobs of them that are
tall enough and not flat are taken for people (or groups of them).

No weights at all, and it finds a person of 10 px as readily as one of 200.
What it cannot see: a person who has stood still for about ``history``
pictures (they become background), and anything on a moving or
shaking camera (everything moves: the whole frame turns into blobs, which
fails towards hiding too much, not too little). The model is per clip:
:meth:`reset` starts a new one, and the player calls it before each clip.
"""

from __future__ import annotations

import numpy as np

from .opencv import cv2

#: Frames are scaled down to this width for the background model: blobs
#: need no detail, and the cost is per pixel. On the pedestrian evaluation
#: 384 hid the same heads as 480 at ~2/3 of the time; 320 lost one.
WORK_WIDTH = 384
#: MOG2's squared Mahalanobis distance above which a pixel is foreground (OpenCV's default 16).
VAR_THRESHOLD = 16
#: Foreground value in MOG2's mask (shadows are 127).
FOREGROUND = 255
#: Blobs flatter than this (height / width) are not person-shaped: cars, shadows of clouds.
MIN_ASPECT = 0.5
#: Smallest blob height kept, in frame pixels (below this there is no head to see).
MIN_HEIGHT = 12.0
#: Smallest share of its box a blob fills (thin lines of noise fill little).
MIN_FILL = 0.15
#: A blob's box is raised by this fraction of its height: a head often differs too
#: little from what is behind it (dark hair on a dark road) to be foreground, so
#: the blob starts at the shoulders.
HEAD_MISSED = 0.15


class MotionPeopleDetector:
    """Moving people in the RGB frames of one fixed camera.
    ``history``: pictures a still person takes to fade into the background
    (500: 20 s at 25 fps). The player shows it every picture (:meth:`observe`)."""

    kind = "person"

    def __init__(self, *, history: int = 500, work_width: int = WORK_WIDTH) -> None:
        self._cv = cv2()
        self.history = history
        self.work_width = work_width
        self._model = None
        self._shape: tuple[int, ...] | None = None
        self._open = np.ones((3, 3), np.uint8)
        self._join = np.ones((7, 3), np.uint8)  # tall: joins head, torso and legs of one person

    def reset(self) -> None:
        """Forgets the background: the next frame starts a new clip."""
        self._model = None

    def observe(self, image: np.ndarray) -> None:
        """Learns from a picture the player does not run detection on."""
        self._apply(image)

    def _apply(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """MOG2's mask of the picture at work size, and that size's scale."""
        cv = self._cv
        height, width = image.shape[:2]
        scale = min(1.0, self.work_width / width)
        small = image if scale == 1.0 else cv.resize(image, (max(1, round(width * scale)),
                                                             max(1, round(height * scale))),
                                                     interpolation=cv.INTER_AREA)
        if self._model is None or self._shape != small.shape:
            self._model = cv.createBackgroundSubtractorMOG2(history=self.history, varThreshold=VAR_THRESHOLD,
                                                            detectShadows=True)
            self._shape = small.shape
        return self._model.apply(small), scale

    def detect(self, image: np.ndarray) -> np.ndarray:
        cv = self._cv
        raw, scale = self._apply(image)
        mask = (raw == FOREGROUND).astype(np.uint8)
        mask = cv.morphologyEx(mask, cv.MORPH_OPEN, self._open)
        mask = cv.morphologyEx(mask, cv.MORPH_CLOSE, self._join)
        count, _, stats, _ = cv.connectedComponentsWithStats(mask, connectivity=8)
        if count <= 1:
            return np.zeros((0, 5), dtype=np.float32)
        x, y, w, h, area = (stats[1:, i].astype(np.float32) for i in range(5))
        keep = (h / scale >= MIN_HEIGHT) & (h >= MIN_ASPECT * w) & (area >= MIN_FILL * w * h)
        boxes = np.stack([x, y - HEAD_MISSED * h, x + w, y + h], axis=1)[keep] / scale
        boxes[:, 1] = np.maximum(boxes[:, 1], 0)
        fill = (area / np.maximum(w * h, 1.0))[keep]
        return np.concatenate([boxes, fill[:, None]], axis=1).astype(np.float32)
