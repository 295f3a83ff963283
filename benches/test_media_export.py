"""pytest-benchmark of exports, each beside its baseline in the same run:

- a 60 s 1080p clip by remux (store -> signed package with clip.mp4) beside
  `ffmpeg -ss S -t 60 -i footage.mp4 -c copy` on the same footage from an
  MP4 file (target: faster);
- the watermarked copy at 720p, in multiples of real time (target >= 4x).

    .venv/bin/python -m pytest benches/test_media_export.py --benchmark-enable
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time

import vidvault
from vidvault import media

T0 = 1_763_700_000 * 1_000_000_000
NS = 1_000_000_000
CLIP_SECONDS = int(os.environ.get("VIDVAULT_BENCH_EXPORT_SECONDS", "60"))


def _footage(bench_dir, *, width: int, height: int, seconds: int):
    src = media.encode_synthetic(bench_dir / f"footage-{height}p.mp4", width=width, height=height, fps=25,
                                 seconds=seconds, gop=50, bframes=2)
    store = vidvault.Store.create(bench_dir / f"store-{height}p", key=vidvault.generate_key())
    vidvault.ingest(store, "cam", str(src), start=T0, create_camera=True)
    return src, store


def test_remux_export_vs_ffmpeg_copy(benchmark, bench_dir, report):
    src, store = _footage(bench_dir, width=1920, height=1080, seconds=CLIP_SECONDS + 5)
    start_s = 2.5  # between keyframes: both tools have to start from the keyframe before it
    counter = itertools.count()
    try:
        def ffmpeg_copy(*, durable: bool) -> None:
            out = bench_dir / f"ffmpeg{next(counter)}.mp4"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start_s), "-t", str(CLIP_SECONDS),
                            "-i", str(src), "-c", "copy", "-movflags", "+faststart", str(out)], check=True)
            if durable:  # the export fsyncs its package; the same durability for the baseline
                with open(out, "rb") as f:
                    os.fsync(f.fileno())

        plain = min(_timed(lambda: ffmpeg_copy(durable=False)) for _ in range(5))
        baseline = min(_timed(lambda: ffmpeg_copy(durable=True)) for _ in range(5))

        def export() -> None:
            store.export_clip("cam", T0 + int(start_s * NS), T0 + int((start_s + CLIP_SECONDS) * NS),
                              bench_dir / f"pkg{next(counter)}")

        benchmark.pedantic(export, rounds=5, iterations=1, warmup_rounds=1)
        ours = benchmark.stats.stats.min
    finally:
        store.close()
    benchmark.extra_info.update(vidvault_s=ours, ffmpeg_s=plain, ffmpeg_fsync_s=baseline)
    report(f"export {CLIP_SECONDS} s 1080p by remux (signed, fsynced package)", f"{ours * 1000:.0f} ms",
           f"ffmpeg -ss -t -c copy + fsync {baseline * 1000:.0f} ms", f"{baseline / ours:.2f}x as fast")
    report("  (same, baseline without fsync)", f"{ours * 1000:.0f} ms",
           f"ffmpeg -ss -t -c copy {plain * 1000:.0f} ms", f"{plain / ours:.2f}x as fast")


def test_watermark_export_speed_720p(benchmark, bench_dir, report):
    seconds = min(CLIP_SECONDS, 20)
    _, store = _footage(bench_dir, width=1280, height=720, seconds=seconds + 2)
    counter = itertools.count()
    try:
        def export() -> None:
            store.export_clip("cam", T0 + NS, T0 + (1 + seconds) * NS, bench_dir / f"wm{next(counter)}",
                              watermark="COPY - benchmark", case="BENCH-1")

        benchmark.pedantic(export, rounds=2, iterations=1)
        elapsed = benchmark.stats.stats.min
    finally:
        store.close()
    speed = seconds / elapsed
    benchmark.extra_info.update(seconds=seconds, elapsed_s=elapsed, realtime_x=speed)
    report(f"watermarked export 720p 25 fps ({seconds} s)", f"{speed:.1f}x real time",
           "target >= 4x real time", "met" if speed >= 4 else "NOT met")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t
