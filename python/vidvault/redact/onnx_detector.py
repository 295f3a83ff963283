"""What the built-in ONNX detectors share: a verified model on an
onnxruntime session, frames scaled down to the network's input width, and
boxes scaled back to frame pixels. Each model adds its own input encoding
and output decoding."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

import numpy as np

from .onnx_session import open_session
from .resize import fit_width

#: Input sides must divide by the deepest feature map's stride (32 for both models).
MULTIPLE = 32


class OnnxDetector(ABC):
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
        small, scale = fit_width(image, self.input_width, MULTIPLE)
        blob = np.ascontiguousarray(self._encode(small), dtype=np.float32)
        boxes = self._decode(self._session.run(None, {self._input: blob}), small.shape[0], small.shape[1])
        boxes[:, :4] /= scale
        return boxes

    def detect_at_input_size(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Boxes (N, 5) in each image's own pixels, for RGB images of one
        size that the caller already scaled (sides multiples of
        :data:`MULTIPLE`), run as one batch: how a tiled pass feeds tiles."""
        if not images:
            return []
        blob = np.ascontiguousarray(np.concatenate([self._encode(i) for i in images]), dtype=np.float32)
        outputs = self._session.run(None, {self._input: blob})
        height, width = images[0].shape[:2]
        return [self._decode([o[i : i + 1] for o in outputs], height, width) for i in range(len(images))]

    @abstractmethod
    def _encode(self, rgb: np.ndarray) -> np.ndarray:
        """The network's 1x3xHxW input for one RGB picture at input size."""

    @abstractmethod
    def _decode(self, outputs: list[np.ndarray], height: int, width: int) -> np.ndarray:
        """(N, 5) boxes in input pixels from the network's outputs."""
