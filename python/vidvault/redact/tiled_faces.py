"""Small faces: CenterFace on enlarged crops of the frame where something
moves or a small face was found, and on a slow sweep of tiles over the
rest, beside its usual pass over the whole, downscaled frame.

A face of 20 px is about 15 px in a 720p frame scaled to 960 px wide, and
CenterFace finds no face that small (nor, measured on real photos, one of
20 px at full resolution); enlarged twice it is 40 px and found. Enlarging
the whole frame costs 4x per doubling, and a fixed camera sees the same
pixels in most of its frame most of the time, so the enlarged pass looks
only where its answer could have changed:

- **motion**: the 8x8 blocks whose mean green value changed by more than
  ``change`` since the previous detection, gathered into windows
  (:func:`windows`) and scanned enlarged; a face that enters, walks or
  turns changes its blocks;
- **tracks**: the neighbourhood of every small face found by the previous
  detection (grown by its own size each side), so a face that stops is
  looked at again where it stopped;
- **sweep**: ``sweep`` tiles of the :func:`~.tiles.tile_grid` per
  detection, in turn, so every part of the frame is scanned again within
  :meth:`~TiledFaceDetector.sweep_period` detections however still it is
  (a face that appears without moving: a light switched on);
- every tile on the first frame and after a :meth:`~TiledFaceDetector.reset`.

A face found by a scan is reported again on later detections while the
blocks under its box stay as they were when it was found (it is the same
picture there: the network would say the same), and dropped when they
change or when a new scan covers its box. Change is measured on block means
so that H.264 noise (1-2 levels at CRF 23) does not count and a face or a
person entering a block (tens of levels) does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .centerface import NMS_IOU, CenterFaceDetector
from .onnx_detector import MULTIPLE
from .resize import padded, resize_rgb
from .tiles import merged, tile_grid, to_frame

#: Side of a tile (and the largest window) in frame pixels, and how much
#: neighbours overlap: a face up to the overlap is whole in some tile;
#: larger ones are the whole-frame pass's.
TILE = 256
OVERLAP = 64
#: Block side of the change measure, and the mean change of a block (0-255) that counts as motion.
BLOCK = 8
CHANGE = 6.0
#: Tiles of the sweep per detection.
SWEEP = 1
#: Context around a moving region, in frame pixels: CenterFace needs some of
#: the head and background around a face to find it.
CONTEXT = 24
#: Motion is gathered in cells of this many blocks (32 px) before windows are
#: drawn around it: fewer, larger windows, each one network run.
CELL = 4
#: A box within this many pixels of a window's inner edge was cut by it (:func:`uncut`).
EDGE = 2
#: Windows per network run (bounds the batch's memory: 16 windows of 512x512 are ~50 MB of floats).
BATCH = 16

Window = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels


@dataclass
class _Found:
    """A face a scan found, and the block means under its box then."""

    row: np.ndarray           # x0, y0, x1, y1, score in frame pixels
    blocks: tuple[slice, slice]
    seen: np.ndarray


class TiledFaceDetector:
    """Faces in RGB frames: ``whole``'s pass over the downscaled frame plus
    crops enlarged ``scale`` times (2.0: a 256 px tile runs at 512 px)."""

    kind = "face"

    def __init__(self, whole: CenterFaceDetector, *, scale: float = 2.0, tile: int = TILE,
                 overlap: int = OVERLAP, change: float = CHANGE, sweep: int = SWEEP) -> None:
        if sweep < 1:
            raise ValueError(f"sweep={sweep}: at least one tile per detection, or a still face is never found")
        self.whole = whole
        self.scale = scale
        self.tile = tile
        self.overlap = overlap
        self.change = change
        self.sweep = sweep
        #: Windows run through the network during the last clip, and the frame pixels they held.
        self.scanned = 0
        self.scanned_pixels = 0
        self.reset()

    def reset(self) -> None:
        """Forgets what was found and seen: the next frame scans every tile."""
        self._shape: tuple[int, ...] | None = None
        self._tiles: list[Window] = []
        self._previous: np.ndarray | None = None
        self._found: list[_Found] = []
        self._small: np.ndarray = np.zeros((0, 5), np.float32)
        self._next_tile = 0
        self.scanned = self.scanned_pixels = 0
        #: The windows the last detection scanned (frame pixels).
        self.windows: list[Window] = []

    def sweep_period(self, width: int, height: int) -> int:
        """Detections within which the sweep scans every tile of a frame of this size again."""
        return math.ceil(len(tile_grid(width, height, self.tile, self.overlap)) / self.sweep)

    def detect(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        blocks = block_means(image)
        if self._shape != image.shape or self._previous is None:
            self.reset()
            self._shape = image.shape
            self._tiles = tile_grid(width, height, self.tile, self.overlap)
            scan = list(self._tiles)
        else:
            moving = np.abs(blocks - self._previous) > self.change
            self._found = [f for f in self._found if not _changed(f, blocks, self.change)]
            scan = windows(moving | self._near_small_faces(blocks.shape), width, height, self.tile, self.overlap)
            for _ in range(min(self.sweep, len(self._tiles))):
                scan.append(self._tiles[self._next_tile])
                self._next_tile = (self._next_tile + 1) % len(self._tiles)
        self.windows = scan
        rows = self._scan(image, scan)
        self._found = [f for f in self._found if not any(_inside(f.row, w) for w in scan)]
        for r in rows:
            where = _block_slices(r, blocks.shape)
            self._found.append(_Found(r, where, blocks[where].copy()))
        self._previous = blocks
        out = merged([self.whole.detect(image), *(f.row[None] for f in self._found)], NMS_IOU)
        size = np.maximum(out[:, 2] - out[:, 0], out[:, 3] - out[:, 1])
        self._small = out[size <= self.overlap]
        return out

    def _near_small_faces(self, shape: tuple[int, int]) -> np.ndarray:
        """Blocks within one face size of a small face found by the last detection."""
        mask = np.zeros(shape, dtype=bool)
        for row in self._small:
            w, h = row[2] - row[0], row[3] - row[1]
            grown = np.array([row[0] - w, row[1] - h, row[2] + w, row[3] + h, 0], dtype=np.float32)
            mask[_block_slices(grown, shape)] = True
        return mask

    def _scan(self, image: np.ndarray, scan: list[Window]) -> list[np.ndarray]:
        """Faces (rows in frame pixels) in the windows, enlarged; windows of
        one size run as one batch."""
        by_size: dict[tuple[int, int], list[Window]] = {}
        for w in scan:
            by_size.setdefault((w[2] - w[0], w[3] - w[1]), []).append(w)
        rows: list[np.ndarray] = []
        for group in by_size.values():
            for start in range(0, len(group), BATCH):
                chunk = group[start : start + BATCH]
                crops = [self._enlarged(image, w) for w in chunk]
                for w, found in zip(chunk, self.whole.detect_at_input_size(crops), strict=True):
                    rows.extend(uncut(to_frame(found, w, self.scale), w, image.shape[1], image.shape[0]))
        self.scanned += len(scan)
        self.scanned_pixels += sum((w[2] - w[0]) * (w[3] - w[1]) for w in scan)
        return rows

    def _enlarged(self, image: np.ndarray, window: Window) -> np.ndarray:
        """The window enlarged ``scale`` times, padded with black to the network's multiple."""
        x0, y0, x1, y1 = window
        w, h = round((x1 - x0) * self.scale), round((y1 - y0) * self.scale)
        return padded(resize_rgb(np.ascontiguousarray(image[y0:y1, x0:x1]), w, h), MULTIPLE)


def windows(wanted: np.ndarray, width: int, height: int, tile: int, overlap: int) -> list[Window]:
    """Windows (frame pixels) that hold every wanted block with
    :data:`CONTEXT` pixels around it: wanted blocks gathered in cells, the
    cells' connected groups boxed, each box grown by the context and cut
    into tiles no larger than ``tile`` (overlapping by ``overlap``, so a face
    up to that size is whole in one of them). Side lengths are rounded up to
    16 px, so that the few sizes that occur run in batches."""
    cells = _cells(wanted)
    out: list[Window] = []
    for cx0, cy0, cx1, cy1 in _groups(cells):
        px = CELL * BLOCK
        x0, y0 = max(0, cx0 * px - CONTEXT), max(0, cy0 * px - CONTEXT)
        x1, y1 = min(width, cx1 * px + CONTEXT), min(height, cy1 * px + CONTEXT)
        for tx0, ty0, tx1, ty1 in tile_grid(x1 - x0, y1 - y0, tile, overlap):
            out.append(_rounded((x0 + tx0, y0 + ty0, x0 + tx1, y0 + ty1), width, height))
    return out


def _cells(wanted: np.ndarray) -> np.ndarray:
    """Which CELLxCELL groups of blocks hold a wanted block."""
    bh, bw = wanted.shape
    ch, cw = -(-bh // CELL), -(-bw // CELL)
    grid = np.zeros((ch * CELL, cw * CELL), dtype=bool)
    grid[:bh, :bw] = wanted
    return grid.reshape(ch, CELL, cw, CELL).any(axis=(1, 3))


def _groups(cells: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (cell units, end exclusive) of the groups of wanted
    cells that touch (8-neighbours), merged until no two boxes touch."""
    ys, xs = np.nonzero(cells)
    boxes = [[x, y, x + 1, y + 1] for y, x in zip(ys.tolist(), xs.tolist())]
    merged_any = True
    while merged_any and len(boxes) > 1:
        merged_any = False
        out: list[list[int]] = []
        for b in boxes:
            for o in out:
                if b[0] <= o[2] and o[0] <= b[2] and b[1] <= o[3] and o[1] <= b[3]:  # touching or overlapping
                    o[0], o[1], o[2], o[3] = min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3])
                    merged_any = True
                    break
            else:
                out.append(list(b))
        boxes = out
    return [tuple(b) for b in boxes]  # type: ignore[misc]


def uncut(rows: np.ndarray, window: Window, width: int, height: int) -> np.ndarray:
    """The rows of a window's scan that do not reach an edge of the window
    inside the frame: such a box is the part of a larger face that the
    window cut, and would win the NMS over the whole face's box from
    another pass (hiding only part of it). A cut face is whole in a
    neighbouring window when it is no larger than the overlap, and is the
    whole-frame pass's when it is larger."""
    x0, y0, x1, y1 = window
    keep = np.ones(len(rows), dtype=bool)
    if x0 > 0:
        keep &= rows[:, 0] > x0 + EDGE
    if y0 > 0:
        keep &= rows[:, 1] > y0 + EDGE
    if x1 < width:
        keep &= rows[:, 2] < x1 - EDGE
    if y1 < height:
        keep &= rows[:, 3] < y1 - EDGE
    return rows[keep]


def _rounded(window: Window, width: int, height: int) -> Window:
    """The window with its sides rounded up to 16 px (kept inside the frame where it fits)."""
    x0, y0, x1, y1 = window
    w, h = min(width, -(-(x1 - x0) // 16) * 16), min(height, -(-(y1 - y0) // 16) * 16)
    x0, y0 = min(x0, width - w), min(y0, height - h)
    return x0, y0, x0 + w, y0 + h


def _inside(row: np.ndarray, window: Window) -> bool:
    return bool(window[0] <= row[0] and window[1] <= row[1] and row[2] <= window[2] and row[3] <= window[3])


def _block_slices(row: np.ndarray, shape: tuple[int, int]) -> tuple[slice, slice]:
    """The blocks a box touches (partly covered ones included)."""
    bx0, by0 = max(0, int(row[0]) // BLOCK), max(0, int(row[1]) // BLOCK)
    bx1, by1 = min(shape[1], -(-int(math.ceil(row[2])) // BLOCK)), min(shape[0], -(-int(math.ceil(row[3])) // BLOCK))
    return slice(by0, max(by0 + 1, by1)), slice(bx0, max(bx0 + 1, bx1))


def _changed(found: _Found, blocks: np.ndarray, change: float) -> bool:
    now = blocks[found.blocks]
    return bool(now.shape != found.seen.shape or np.abs(now - found.seen).max() > change)


def block_means(image: np.ndarray) -> np.ndarray:
    """Mean green value of every BLOCKxBLOCK block (partial blocks at the
    right and bottom edges included), as float32."""
    height, width = image.shape[:2]
    bh, bw = -(-height // BLOCK), -(-width // BLOCK)
    green = np.zeros((bh * BLOCK, bw * BLOCK), dtype=np.uint16)
    green[:height, :width] = image[:, :, 1]
    sums = green.reshape(bh, BLOCK, bw, BLOCK).sum(axis=(1, 3), dtype=np.uint32)
    return (sums / (BLOCK * BLOCK)).astype(np.float32)
