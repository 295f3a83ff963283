"""Downscaling frames for the detectors, with FFmpeg's swscale (through
PyAV): area-averaging, in C, without another imaging dependency."""

from __future__ import annotations

import av
import numpy as np


def resize_rgb(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """An ``HxWx3 uint8`` RGB image resized to ``height x width``."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()


def fit_width(width: int, height: int, target_width: int, multiple: int) -> tuple[int, int]:
    """Size (w, h) of the frame scaled to ``target_width`` (never enlarged),
    each side rounded to the ``multiple`` the network needs (the aspect
    ratio moves by at most half a multiple)."""
    scale = min(1.0, target_width / width)
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    return w, h
