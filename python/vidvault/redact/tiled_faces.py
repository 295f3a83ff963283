"""Small faces: CenterFace on enlarged, overlapping tiles of the frame,
beside its usual pass over the whole, downscaled frame.

A face of 20 px is about 15 px in a 720p frame scaled to 960 px wide, and
CenterFace finds no face that small (nor, measured on real photos, one of
20 px at full resolution); enlarged twice it is 40 px and found. Enlarging
the whole frame costs 4x per doubling, so the tiles are gated by change: a
fixed camera sees the same pixels in most of its frame most of the time,
and a tile whose pixels have not changed since it was last scanned would
give the same answer. Such a tile reports what it found then. Every tile is
scanned again at least every ``refresh`` detections anyway (staggered, so
not all at once), and every tile on the first frame and after a
:meth:`~TiledFaceDetector.reset`.

Change is measured on 8x8 block means of the green channel against the
blocks of the picture the tile was last scanned on (not the previous
picture), so a slow change adds up until it counts.
"""

from __future__ import annotations

import numpy as np

from .centerface import NMS_IOU, CenterFaceDetector
from .onnx_detector import MULTIPLE
from .resize import padded, resize_rgb
from .tiles import merged, tile_grid, to_frame

#: Side of a tile in frame pixels, and how much neighbours overlap: a face up
#: to the overlap is whole in some tile; larger ones are the whole-frame pass's.
TILE = 256
OVERLAP = 64
#: Block side of the change measure, and the mean change of a block (0-255)
#: that marks its tile for a new scan: H.264 noise at CRF 23 moves 8x8 block
#: means by 1-2, a face or a person entering a block by tens.
BLOCK = 8
CHANGE = 6.0
#: Detections after which a tile is scanned again, changed or not.
REFRESH = 8
#: Tiles per network run (bounds the batch's memory: 16 tiles of 512x512 are ~50 MB of floats).
BATCH = 16


class TiledFaceDetector:
    """Faces in RGB frames: ``whole``'s pass over the downscaled frame plus
    tiles enlarged ``scale`` times (2.0: a 256 px tile runs at 512 px)."""

    kind = "face"

    def __init__(self, whole: CenterFaceDetector, *, scale: float = 2.0, tile: int = TILE,
                 overlap: int = OVERLAP, change: float = CHANGE, refresh: int = REFRESH) -> None:
        self.whole = whole
        self.scale = scale
        self.tile = tile
        self.overlap = overlap
        self.change = change
        self.refresh = refresh
        #: Tiles scanned by the network during the last clip, and tiles that reported a cached answer.
        self.scanned = 0
        self.reused = 0
        self.reset()

    def reset(self) -> None:
        """Forgets every tile's answer: the next frame scans them all."""
        self._shape: tuple[int, ...] | None = None
        self._tiles: list[tuple[int, int, int, int]] = []
        self._seen: list[np.ndarray | None] = []
        self._found: list[np.ndarray] = []
        self._age: list[int] = []
        self.scanned = self.reused = 0

    def detect(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        if self._shape != image.shape:
            self.reset()
            self._shape = image.shape
            self._tiles = tile_grid(width, height, self.tile, self.overlap)
            self._seen = [None] * len(self._tiles)
            self._found = [np.zeros((0, 5), np.float32)] * len(self._tiles)
            self._age = [0] * len(self._tiles)
        blocks = block_means(image)
        stale = [i for i in range(len(self._tiles)) if self._is_stale(i, blocks)]
        for start in range(0, len(stale), BATCH):
            chunk = stale[start : start + BATCH]
            crops = [self._enlarged(image, self._tiles[i]) for i in chunk]
            for i, found in zip(chunk, self.whole.detect_at_input_size(crops), strict=True):
                self._found[i] = to_frame(found, self._tiles[i], self.scale)
                # After the first scan of a clip the ages are staggered, so that the
                # forced re-scans are spread over `refresh` detections, not all on one.
                self._age[i] = i % self.refresh if self._seen[i] is None else 0
                self._seen[i] = self._tile_blocks(blocks, i)
        for i in range(len(self._tiles)):
            self._age[i] += 1
        self.scanned += len(stale)
        self.reused += len(self._tiles) - len(stale)
        return merged([self.whole.detect(image), *self._found], NMS_IOU)

    def _is_stale(self, i: int, blocks: np.ndarray) -> bool:
        seen = self._seen[i]
        if seen is None or self._age[i] >= self.refresh:
            return True
        now = self._tile_blocks(blocks, i)
        return bool(now.shape != seen.shape or np.abs(now - seen).max() > self.change)

    def _tile_blocks(self, blocks: np.ndarray, i: int) -> np.ndarray:
        x0, y0, x1, y1 = self._tiles[i]
        # Blocks partly inside the tile count: a change at its edge may be half a face inside it.
        return blocks[y0 // BLOCK : -(-y1 // BLOCK), x0 // BLOCK : -(-x1 // BLOCK)]

    def _enlarged(self, image: np.ndarray, tile: tuple[int, int, int, int]) -> np.ndarray:
        """The tile enlarged ``scale`` times, padded with black to the network's
        multiple. The tiles of one frame are all the same size
        (:func:`~.tiles.tile_grid`), so they come out the same and run as one batch."""
        x0, y0, x1, y1 = tile
        w, h = round((x1 - x0) * self.scale), round((y1 - y0) * self.scale)
        return padded(resize_rgb(np.ascontiguousarray(image[y0:y1, x0:x1]), w, h), MULTIPLE)


def block_means(image: np.ndarray) -> np.ndarray:
    """Mean green value of every BLOCKxBLOCK block (partial blocks at the
    right and bottom edges included), as float32."""
    height, width = image.shape[:2]
    bh, bw = -(-height // BLOCK), -(-width // BLOCK)
    green = np.zeros((bh * BLOCK, bw * BLOCK), dtype=np.uint16)
    green[:height, :width] = image[:, :, 1]
    sums = green.reshape(bh, BLOCK, bw, BLOCK).sum(axis=(1, 3), dtype=np.uint32)
    return (sums / (BLOCK * BLOCK)).astype(np.float32)
