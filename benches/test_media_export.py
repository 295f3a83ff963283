"""pytest-benchmark of exports, each beside its baseline in the same run
(the measurements are vidvault.bench.export's, shared with `vidvault bench
export`):

- a 60 s 1080p clip by remux (store -> signed package with clip.mp4) beside
  `ffmpeg -ss S -t 60 -i footage.mp4 -c copy` on the same footage from an
  MP4 file, both outputs fsynced (target: faster);
- the watermarked copy at 720p, in multiples of real time (target >= 4x).

    .venv/bin/python -m pytest benches/test_media_export.py --benchmark-enable
"""

from __future__ import annotations

import os

from vidvault.bench import export

CLIP_SECONDS = int(os.environ.get("VIDVAULT_BENCH_EXPORT_SECONDS", "60"))


def test_remux_export_vs_ffmpeg_copy(benchmark, bench_dir, report):
    r = benchmark.pedantic(lambda: export.remux_vs_ffmpeg(bench_dir / "remux", seconds=CLIP_SECONDS),
                           setup=lambda: (bench_dir / "remux").mkdir(exist_ok=True), rounds=1, iterations=1)
    benchmark.extra_info.update(vidvault_s=r.vidvault_s, ffmpeg_s=r.ffmpeg_plain_s, ffmpeg_fsync_s=r.ffmpeg_s)
    report(f"export {CLIP_SECONDS} s 1080p by remux (signed, fsynced package)", f"{r.vidvault_s * 1000:.0f} ms",
           f"ffmpeg -ss -t -c copy + fsync {r.ffmpeg_s * 1000:.0f} ms", f"{r.ffmpeg_s / r.vidvault_s:.2f}x as fast")
    report("  (same, baseline without fsync)", f"{r.vidvault_s * 1000:.0f} ms",
           f"ffmpeg -ss -t -c copy {r.ffmpeg_plain_s * 1000:.0f} ms", f"{r.ffmpeg_plain_s / r.vidvault_s:.2f}x as fast")


def test_watermark_export_speed_720p(benchmark, bench_dir, report):
    seconds = min(CLIP_SECONDS, 20)
    speed = benchmark.pedantic(lambda: export.watermark_speed(bench_dir / "wm", seconds=seconds),
                               setup=lambda: (bench_dir / "wm").mkdir(exist_ok=True), rounds=1, iterations=1)
    benchmark.extra_info.update(seconds=seconds, realtime_x=speed)
    report(f"watermarked export 720p 25 fps ({seconds} s)", f"{speed:.1f}x real time",
           "target >= 4x real time", "met" if speed >= 4 else "NOT met")
