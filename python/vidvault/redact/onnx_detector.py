"""What the built-in ONNX detectors share: a verified model on an
onnxruntime session, frames scaled down to the network's input width, and
boxes scaled back to frame pixels. Each model adds its own input encoding
and output decoding."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .onnx_session import open_session
from .resize import fit_width, resize_rgb

#: Input sides must divide by the deepest feature map's stride (32 for both models).
MULTIPLE = 32


class OnnxDetector:
    kind = ""

    def __init__(
        self,
        model: Path | bytes,
        *,
        input_width: int,
        threshold: float,
        threads: int | None,
        providers: Sequence[str] | None,
    ) -> None:
        self.input_width = input_width
        self.threshold = threshold
        self._session = open_session(model, threads=threads, providers=providers)
        self._input = self._session.get_inputs()[0].name

    def detect(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        w, h = fit_width(width, height, self.input_width, MULTIPLE)
        blob = np.ascontiguousarray(self._encode(resize_rgb(image, w, h)), dtype=np.float32)
        boxes = self._decode(self._session.run(None, {self._input: blob}), h, w)
        boxes[:, [0, 2]] *= width / w
        boxes[:, [1, 3]] *= height / h
        return boxes

    def _encode(self, rgb: np.ndarray) -> np.ndarray:
        """The network's 1x3xHxW input for one RGB picture at input size."""
        raise NotImplementedError

    def _decode(self, outputs: list[np.ndarray], height: int, width: int) -> np.ndarray:
        """(N, 5) boxes in input pixels from the network's outputs."""
        raise NotImplementedError
