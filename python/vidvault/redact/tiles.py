"""Tile geometry: overlapping squares that cover a frame, and boxes found in
tiles mapped back to the frame and merged.

A detector that sees a frame through tiles sees every object whole in at
least one tile as long as the object is no larger than the overlap; objects
cut by a tile edge are also reported by that tile, partly, and either merge
with the whole one (NMS) or stay as a second, smaller box: more hidden,
never less.
"""

from __future__ import annotations

import numpy as np

from .boxes import nms


def tile_grid(width: int, height: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Tiles ``(x0, y0, x1, y1)`` of side ``tile`` (smaller only where the
    frame is), neighbours overlapping by at least ``overlap`` pixels, the
    last row and column flush with the frame's edges, row by row."""
    if tile <= overlap or overlap < 0:
        raise ValueError(f"a tile of {tile} px cannot overlap its neighbours by {overlap} px")
    xs, ys = _starts(width, tile, overlap), _starts(height, tile, overlap)
    return [(x, y, min(width, x + tile), min(height, y + tile)) for y in ys for x in xs]


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread tile starts along one axis: the first at 0, the last at
    ``length - tile``, no step longer than ``tile - overlap``."""
    if length <= tile:
        return [0]
    count = -(-(length - tile) // (tile - overlap)) + 1
    span = length - tile
    return [round(i * span / (count - 1)) for i in range(count)]


def to_frame(boxes: np.ndarray, tile: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """Boxes (N, 5) in the pixels of a tile enlarged by ``scale`` -> frame pixels."""
    out = np.array(boxes, dtype=np.float32, copy=True).reshape(-1, 5)
    out[:, :4] /= scale
    out[:, [0, 2]] += tile[0]
    out[:, [1, 3]] += tile[1]
    return out


def merged(parts: list[np.ndarray], max_iou: float) -> np.ndarray:
    """The boxes (N, 5) of several passes over one frame (tiles, a whole-frame
    pass), one box per object: NMS across all of them, best score first."""
    rows = [p.reshape(-1, 5) for p in parts if len(p)]
    if not rows:
        return np.zeros((0, 5), dtype=np.float32)
    boxes = np.concatenate(rows).astype(np.float32)
    return boxes[nms(boxes[:, :4], boxes[:, 4], max_iou)]
