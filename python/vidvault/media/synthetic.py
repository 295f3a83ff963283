"""Synthetic test footage: RGB pictures with texture and motion, encoded with
libx264/libx265 into a container, for the demo, the tests and the benchmarks.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..errors import MediaError

#: FFmpeg encoder used for each codec we generate.
ENCODERS = {"h264": "libx264", "hevc": "libx265"}


def synthetic_pictures(width: int, height: int, count: int, *, seed: int = 0) -> Iterator[np.ndarray]:
    """RGB pictures with texture and motion, so encoders produce realistic
    sizes (large keyframes, smaller but non-trivial P-frames)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack(
        [xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1), (xx + yy) * 127 // (width + height)],
        axis=-1,
    ).astype(np.int16)
    base = np.clip(base + rng.integers(-24, 24, size=(height, width, 1)), 0, 255).astype(np.uint8)
    box = max(8, min(width, height) // 6)
    for i in range(count):
        pic = base.copy()
        x = (i * 7) % max(1, width - box)
        y = int((height - box) / 2 * (1 + math.sin(i / 15)))
        pic[y : y + box, x : x + box] = (230, 60 + (i * 3) % 160, 40)
        # A strip that changes every frame: frames stay distinguishable.
        bits = np.array([(i >> b) & 1 for b in range(16)], dtype=np.uint8) * 255
        pic[:8, : 16 * 8] = np.repeat(bits, 8)[None, :, None]
        yield pic


def encode_synthetic(
    path: str | os.PathLike[str],
    *,
    codec: str = "h264",
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    seconds: float = 10.0,
    gop: int | None = None,
    bframes: int = 0,
    container_format: str | None = None,
    seed: int = 0,
    bitrate: int | None = None,
) -> Path:
    """Encodes synthetic footage with libx264/libx265 into a container
    (format from the extension: .mp4, .mkv, .ts, ...). Closed GOPs of
    ``gop`` frames (default: one second). ``bitrate`` (bit/s): the
    encoder's average target, as a camera set to that rate (default: the
    encoder's constant quality)."""
    path = Path(path)
    gop = gop or fps
    encoder = ENCODERS.get(codec)
    if encoder is None:
        raise MediaError(f"no test encoder for codec {codec!r}; use one of {sorted(ENCODERS)}")
    with av.open(str(path), mode="w", format=container_format) as out:
        stream = out.add_stream(encoder, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if bitrate:
            stream.bit_rate = bitrate
        if codec == "h264":
            stream.options = {
                "preset": "veryfast",
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}:open-gop=0",
            }
        else:
            stream.options = {
                "preset": "ultrafast",
                "x265-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}:"
                "open-gop=0:log-level=error",
            }
        for pic in synthetic_pictures(width, height, int(seconds * fps), seed=seed):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")))
        out.mux(stream.encode(None))
    return path
