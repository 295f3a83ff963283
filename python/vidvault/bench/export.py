"""`vidvault bench export`: exporting a clip as an evidence package by remux,
beside `ffmpeg -ss S -t T -c copy` cutting the same footage out of the MP4
file it was ingested from (both outputs fsynced), and the watermarked copy
in multiples of real time."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .. import media
from ..errors import DependencyMissingError
from ..ingestion import ingest
from ..keys import generate_key
from ..store import Store

T0 = 1_763_700_000 * 1_000_000_000
NS = 1_000_000_000
#: Between keyframes: both tools start from the keyframe before it.
START_S = 2.5


@dataclass
class ExportTimes:
    seconds: int
    height: int
    vidvault_s: float
    ffmpeg_s: float  # with fsync of its output, like the export's package
    ffmpeg_plain_s: float


def footage(directory: Path, *, width: int, height: int, seconds: float) -> tuple[Path, Store]:
    """Real H.264 with B-frames (libx264, GOP 50, 25 fps) in an MP4 file,
    ingested into a new store as camera "cam" from T0."""
    src = media.encode_synthetic(directory / f"footage-{height}p.mp4", width=width, height=height, fps=25,
                                 seconds=seconds, gop=50, bframes=2)
    store = Store.create(directory / f"store-{height}p", key=generate_key())
    ingest(store, "cam", str(src), start=T0, create_camera=True)
    return src, store


def remux_vs_ffmpeg(directory: Path, *, seconds: int = 60, width: int = 1920, height: int = 1080,
                    rounds: int = 5) -> ExportTimes:
    if shutil.which("ffmpeg") is None:
        raise DependencyMissingError("the export baseline needs the ffmpeg command on PATH", name="ffmpeg")
    src, store = footage(directory, width=width, height=height, seconds=seconds + START_S + 2)
    counter = itertools.count()
    try:
        def ffmpeg_copy(durable: bool) -> float:
            out = directory / f"ffmpeg{next(counter)}.mp4"
            t = time.perf_counter()
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(START_S), "-t", str(seconds), "-i", str(src),
                            "-c", "copy", "-movflags", "+faststart", str(out)], check=True)
            if durable:
                with open(out, "rb") as f:
                    os.fsync(f.fileno())
            took = time.perf_counter() - t
            out.unlink()
            return took

        def export() -> float:
            out = directory / f"pkg{next(counter)}"
            t = time.perf_counter()
            store.export_clip("cam", T0 + int(START_S * NS), T0 + int((START_S + seconds) * NS), out, raw=True)
            took = time.perf_counter() - t
            shutil.rmtree(out)
            return took

        export()  # warm up: file cache, the muxer's first use
        plain = min(ffmpeg_copy(False) for _ in range(rounds))
        durable = min(ffmpeg_copy(True) for _ in range(rounds))
        ours = min(export() for _ in range(rounds))
    finally:
        store.close()
    return ExportTimes(seconds, height, ours, durable, plain)


def watermark_speed(directory: Path, *, seconds: int = 20, width: int = 1280, height: int = 720) -> float:
    """Seconds of footage exported per second with a burned-in watermark."""
    _, store = footage(directory, width=width, height=height, seconds=seconds + 2)
    try:
        t = time.perf_counter()
        store.export_clip("cam", T0 + NS, T0 + (1 + seconds) * NS, directory / "wm", raw=True,
                          watermark="COPY - benchmark", case="BENCH-1")
        return seconds / (time.perf_counter() - t)
    finally:
        store.close()
