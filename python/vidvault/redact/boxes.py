"""Box arithmetic shared by the detectors, the tracker and the evaluation:
boxes are float arrays ``[x0, y0, x1, y1]`` in pixels, ``x1``/``y1`` exclusive."""

from __future__ import annotations

import numpy as np

#: Largest coordinate magnitude a box keeps (2**24 px, far beyond any
#: picture): larger values are clamped to it, so box arithmetic in float32
#: (widths, growth, velocities) never overflows to inf.
COORD_LIMIT = float(1 << 24)


def normalised(boxes: np.ndarray) -> np.ndarray:
    """Boxes with their corners in order (``x0 <= x1``, ``y0 <= y1``) and
    coordinates clamped to :data:`COORD_LIMIT`: a box with swapped corners
    covers the same pixels as the ordered one, never none."""
    out = np.clip(np.array(boxes, dtype=np.float32, copy=True), -COORD_LIMIT, COORD_LIMIT)
    x0, x1 = np.minimum(out[..., 0], out[..., 2]), np.maximum(out[..., 0], out[..., 2])
    y0, y1 = np.minimum(out[..., 1], out[..., 3]), np.maximum(out[..., 1], out[..., 3])
    out[..., 0], out[..., 1], out[..., 2], out[..., 3] = x0, y0, x1, y1
    return out


def area(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N,4+) with every box of ``b`` (M,4+): (N, M)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    inter = intersection_matrix(a, b)
    union = area(a[:, :4])[:, None] + area(b[:, :4])[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def intersection_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection area of every box of ``a`` (N,4+) with every box of ``b`` (M,4+): (N, M)."""
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


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
