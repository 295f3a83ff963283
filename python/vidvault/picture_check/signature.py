"""What the picture checks compare, cut down from a decoded keyframe.

- ``luma``: the picture as a small grey image. Brightness, its spread and
  the scene's structure (the "moved" check) survive the reduction, and the
  checks become independent of the camera's resolution.
- ``patches``: a grid of small full-resolution squares of luma. Whether two
  pictures are *the same picture* cannot be told at small size: averaging
  hides the sensor noise that makes two shots of a static scene differ
  (measured: 1.3 grey levels mean difference between keyframes of a static
  720p scene with sensor noise, 0.08-0.2 once a frozen picture's encoding
  settles; at 160x90 the two are 0.4 and 0.03-0.2). The patches keep that
  noise at a cost of 16 KiB per camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Size of the small grey picture.
WIDTH, HEIGHT = 160, 90
#: Full-resolution squares, GRID x GRID of them, PATCH pixels a side.
GRID, PATCH = 4, 32


@dataclass(frozen=True)
class Signature:
    ts: int
    luma: np.ndarray     # HEIGHT x WIDTH float32, grey levels as decoded (studio range: black is 16)
    patches: np.ndarray  # GRID*GRID x PATCH x PATCH float32, full resolution

    @property
    def mean(self) -> float:
        return float(self.luma.mean())

    @property
    def spread(self) -> float:
        """Standard deviation of brightness: near 0 for a uniform picture."""
        return float(self.luma.std())


def signature(ts: int, frame: Any) -> Signature:
    """The signature of a decoded ``av.VideoFrame``."""
    small = frame.reformat(width=WIDTH, height=HEIGHT, format="gray", interpolation="AREA")  # type: ignore[attr-defined]
    return Signature(ts, small.to_ndarray().astype(np.float32), _patches(_luma(frame)))


def _luma(frame: Any) -> np.ndarray:
    """The full-resolution luma plane, without a conversion where the
    picture is already planar YUV (the Y plane is the grey picture)."""
    if frame.format.name in PLANAR_YUV:
        y = frame.planes[0]
        return np.frombuffer(y, np.uint8).reshape(frame.height, y.line_size)[:, :frame.width]
    return frame.to_ndarray(format="gray")


#: 8-bit planar YUV formats whose first plane is luma, one byte a pixel.
PLANAR_YUV = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12")


def _patches(full: np.ndarray) -> np.ndarray:
    h, w = full.shape
    if h < PATCH or w < PATCH:
        return full[np.newaxis].astype(np.float32)  # a tiny picture: compare all of it
    ys = np.linspace(0, h - PATCH, GRID + 2)[1:-1].astype(int)  # inner points: borders often carry an overlay
    xs = np.linspace(0, w - PATCH, GRID + 2)[1:-1].astype(int)
    return np.stack([full[y:y + PATCH, x:x + PATCH] for y in ys for x in xs]).astype(np.float32)


def picture_change(a: Signature, b: Signature) -> float:
    """How much the picture changed between two keyframes, in grey levels:
    the mean absolute difference of each full-resolution patch, at the 90th
    percentile of the patches. A frozen picture changes nowhere; a live one
    at least by its sensor noise almost everywhere; the percentile lets one
    patch in ten change anyway (a clock the camera overlays on a frozen
    picture, a blinking status light)."""
    if a.patches.shape != b.patches.shape:
        return float("inf")  # the resolution changed: not the same picture
    per_patch = np.abs(a.patches - b.patches).reshape(len(a.patches), -1).mean(axis=1)
    return float(np.percentile(per_patch, 90))


def structure(luma: np.ndarray) -> np.ndarray:
    """Edges of a grey picture (gradient magnitude), normalised to zero mean
    and unit variance: what a scene looks like independent of its lighting,
    so that dusk or a switch to infrared does not read as a moved camera."""
    gy, gx = np.gradient(luma)
    edges = np.hypot(gx, gy)
    spread = edges.std()
    return (edges - edges.mean()) / spread if spread > 1e-6 else np.zeros_like(edges)


def same_view(a: Signature, b: Signature) -> float:
    """Correlation (-1..1) of the two pictures' structure: about 1 for the
    same view, near 0 for unrelated ones."""
    return float((structure(a.luma) * structure(b.luma)).mean())
