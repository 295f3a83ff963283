"""The detector protocol: what playback needs from a face or plate model.

Plug in your own (a GPU model, another vendor's) by implementing it::

    class MyFaces:
        kind = "face"
        def detect(self, image):            # HxWx3 uint8, RGB
            return np.array([[x0, y0, x1, y1, score], ...], dtype=np.float32)

    store.play(cam, t0, t1, redact=vidvault.Redaction(detectors=[MyFaces()]))

A detector must raise when it cannot run: playback then stops with a
``RedactionError`` instead of showing a frame it could not check.

Optional, for detectors with state (a background model): ``reset()`` is
called before each clip, and ``observe(image)`` with every picture that
``detect`` is not called on, so the state learns from all of them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Detector(Protocol):
    #: What it finds ("face", "plate", ...): reported with each hidden box.
    kind: str

    def detect(self, image: np.ndarray) -> np.ndarray:
        """Finds objects in one RGB ``HxWx3 uint8`` frame.

        Returns a float array of shape (N, 5): ``x0, y0, x1, y1, score`` in
        the frame's pixels (x1/y1 exclusive), any order, any score scale in
        [0, 1]. Playback keeps rows with ``score >= min_score``.
        """
        ...
