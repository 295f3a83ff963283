"""Preparing frames for the detectors: downscaled with FFmpeg's swscale
(through PyAV: area-averaging, in C, no other imaging dependency), then
padded to the size the network needs rather than stretched."""

from __future__ import annotations

import av
import numpy as np


def resize_rgb(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """An ``HxWx3 uint8`` RGB image resized to ``height x width``."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()


def fit_width(image: np.ndarray, target_width: int, multiple: int) -> tuple[np.ndarray, float]:
    """The image scaled to ``target_width`` (never enlarged) and padded with
    black on the right and bottom to multiples of ``multiple``; and the
    scale applied (network pixels per frame pixel, the same on both axes)."""
    height, width = image.shape[:2]
    scale = min(1.0, target_width / width)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    return padded(resize_rgb(image, w, h), multiple), w / width


def padded(image: np.ndarray, multiple: int) -> np.ndarray:
    """The image padded with black on the right and bottom to multiples of ``multiple``."""
    h, w = image.shape[:2]
    pw, ph = -(-w // multiple) * multiple, -(-h // multiple) * multiple
    if (pw, ph) == (w, h):
        return image
    out = np.zeros((ph, pw, 3), dtype=np.uint8)
    out[:h, :w] = image
    return out
