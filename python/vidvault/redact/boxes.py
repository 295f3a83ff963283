"""Box arithmetic shared by the detectors, the tracker and the evaluation:
boxes are float arrays ``[x0, y0, x1, y1]`` in pixels, ``x1``/``y1`` exclusive."""

from __future__ import annotations

import numpy as np


def area(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N,4+) with every box of ``b`` (M,4+): (N, M)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = area(a[:, :4])[:, None] + area(b[:, :4])[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, max_iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        if not len(rest):
            break
        overlap = iou_matrix(boxes[best : best + 1], boxes[rest])[0]
        order = rest[overlap <= max_iou]
    return np.asarray(keep, dtype=np.int64)


def grow(boxes: np.ndarray, fraction: float | np.ndarray) -> np.ndarray:
    """Boxes enlarged by ``fraction`` of their width/height on every side."""
    out = np.array(boxes, dtype=np.float32, copy=True)
    w = (out[..., 2] - out[..., 0]) * fraction
    h = (out[..., 3] - out[..., 1]) * fraction
    out[..., 0] -= w
    out[..., 2] += w
    out[..., 1] -= h
    out[..., 3] += h
    return out
