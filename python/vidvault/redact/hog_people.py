"""People with OpenCV's HOG detector (Dalal & Triggs 2005): the linear SVM
over histograms of oriented gradients whose weights ship inside the
opencv-python-headless wheel (Apache-2.0), so there is no model file to
install. It sees people from about 100 px tall at ``input_width`` (its
window is 64x128 with the person ~96 px inside it); smaller people need the
frame enlarged, at four times the cost per doubling."""

from __future__ import annotations

import numpy as np

from .opencv import cv2


class HogPeopleDetector:
    """People in RGB frames. ``scale``: frames are resized by this factor
    before the detector (2.0 finds people down to ~50 px, at ~4x the time)."""

    kind = "person"

    def __init__(self, *, scale: float = 1.0, stride: int = 8) -> None:
        self._cv = cv2()
        self.scale = scale
        self.stride = stride
        self._hog = self._cv.HOGDescriptor()
        self._hog.setSVMDetector(self._cv.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, image: np.ndarray) -> np.ndarray:
        cv = self._cv
        picture = image if self.scale == 1.0 else cv.resize(image, None, fx=self.scale, fy=self.scale,
                                                              interpolation=cv.INTER_LINEAR)
        rects, weights = self._hog.detectMultiScale(picture, winStride=(self.stride, self.stride),
                                                    padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return np.zeros((0, 5), dtype=np.float32)
        r = np.asarray(rects, dtype=np.float32).reshape(-1, 4) / self.scale
        w = np.asarray(weights, dtype=np.float32).reshape(-1)
        # SVM margins (>= 0 here) to (0.5, 1): a score the playback floor can compare.
        score = 1.0 / (1.0 + np.exp(-w))
        return np.stack([r[:, 0], r[:, 1], r[:, 0] + r[:, 2], r[:, 1] + r[:, 3], score], axis=1)
