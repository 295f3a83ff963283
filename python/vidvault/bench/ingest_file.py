"""`vidvault bench ingest-file` (and the file part of `vidvault bench
ingest`): CPU spent storing a real camera file, beside ffmpeg's segment
muxer copying the same file in the same run.

The file is real H.264 (PyAV's libx264, 1080p25, about 8 Mbit/s, GOP 50) in
MPEG-TS, as a camera or an NVR export delivers it. Each side is a whole
process timed from start to exit, its CPU (user + system) taken from the
kernel (``wait4``), start-up included, as a site pays it:

- ``vidvault ingest STORE --camera cam FILE`` on a fresh store (encrypts,
  hashes, indexes and fsyncs every segment);
- ``ffmpeg -i FILE -c copy -f segment -segment_time 10 -segment_format mp4
  out%05d.mp4`` (the way Frigate records).

Runs alternate (vidvault, ffmpeg, vidvault, ffmpeg, ...) so that a drift of
the machine falls on both. A third figure is :func:`vidvault.ingest` called
in this process on a fresh store, its CPU from ``getrusage`` around the call
only: the ingest loop without the interpreter's start-up and imports.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InvalidArgumentError
from .ffmpeg_peer import require_ffmpeg

WIDTH, HEIGHT, FPS, GOP = 1920, 1080, 25, 50
BITRATE = 8_000_000
#: The segment muxer's segment length, as the record bench and Frigate use.
SEGMENT_SECONDS = 10

VIDVAULT_CLI = "vidvault ingest (CLI process)"
VIDVAULT_IN_PROCESS = "vidvault.ingest() in process, start-up excluded"
FFMPEG = "ffmpeg segment muxer (process)"


@dataclass
class FileRun:
    runner: str  # one of VIDVAULT_CLI, VIDVAULT_IN_PROCESS, FFMPEG
    footage_seconds: float
    wall_seconds: float
    cpu_seconds: float

    @property
    def cpu_per_camera_hour(self) -> float:
        return self.cpu_seconds / (self.footage_seconds / 3600)


@dataclass
class FileResult:
    path: Path
    footage_seconds: float
    file_bytes: int
    runs: list[FileRun]

    @property
    def bitrate(self) -> float:
        return self.file_bytes * 8 / self.footage_seconds

    def median_cpu(self, runner: str) -> float:
        return statistics.median(r.cpu_per_camera_hour for r in self.runs if r.runner == runner)


def make_file(work: Path, seconds: float) -> Path:
    """The real file of the benchmark: 1080p25 H.264 at about 8 Mbit/s in MPEG-TS."""
    from ..media.synthetic import encode_synthetic

    return encode_synthetic(work / "camera.ts", width=WIDTH, height=HEIGHT, fps=FPS, seconds=seconds, gop=GOP,
                            bitrate=BITRATE)


def _process_cpu(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Runs a process to its exit; returns (wall seconds, CPU seconds of
    user + system, from the kernel's accounting of that child)."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()  # drained while it runs: a full pipe must not stall it
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... ended with status {proc.returncode}: "
                           f"{err.decode(errors='replace')[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def ffmpeg_segment_argv(ffmpeg: str, source: Path, out: Path) -> list[str]:
    return [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(source), "-c", "copy",
            "-f", "segment", "-segment_time", str(SEGMENT_SECONDS), "-segment_format", "mp4",
            str(out / "out%05d.mp4")]


def footage_seconds(path: Path) -> float:
    """Frames of the first video track over its frame rate."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        rate = s.average_rate or s.guessed_rate or FPS
        frames = sum(1 for p in c.demux(s) if p.size)
    return float(frames / rate)


def run(work: Path, *, seconds: float, rounds: int, say: Callable[[str], None],
        source: Path | None = None) -> FileResult:
    """``source``: a file to ingest instead of making one (your own camera's
    footage, or the file of an earlier run)."""
    import vidvault

    ffmpeg = require_ffmpeg()
    work.mkdir(parents=True, exist_ok=True)
    if source is None:
        say(f"encoding {seconds:g} s of {HEIGHT}p{FPS} H.264 at {BITRATE / 1e6:g} Mbit/s into MPEG-TS")
        source = make_file(work, seconds)
    elif not source.is_file():
        raise InvalidArgumentError(f"--file {source}: no such file; pass a video file (MPEG-TS, MP4, ...) or leave "
                                "--file out to make one")
    footage = footage_seconds(source)
    key = vidvault.generate_key()
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    runs: list[FileRun] = []
    for r in range(rounds):
        store = work / f"store-cli-{r}"
        vidvault.Store.create(store, key=key).close()
        say(f"round {r + 1}: {VIDVAULT_CLI}")
        wall, cpu = _process_cpu([sys.executable, "-m", "vidvault.cli", "ingest", str(store), "--camera", "cam",
                                  "--quiet", str(source)], env)
        runs.append(FileRun(VIDVAULT_CLI, footage, wall, cpu))
        shutil.rmtree(store, ignore_errors=True)

        out = work / f"ffmpeg-{r}"
        out.mkdir()
        say(f"round {r + 1}: {FFMPEG}")
        wall, cpu = _process_cpu(ffmpeg_segment_argv(ffmpeg, source, out), env)
        runs.append(FileRun(FFMPEG, footage, wall, cpu))
        shutil.rmtree(out, ignore_errors=True)

        store = work / f"store-api-{r}"
        say(f"round {r + 1}: {VIDVAULT_IN_PROCESS}")
        with vidvault.Store.create(store, key=key) as s:
            wall, cpu = _in_process_cpu(lambda: vidvault.ingest(s, "cam", str(source), create_camera=True))
        runs.append(FileRun(VIDVAULT_IN_PROCESS, footage, wall, cpu))
        shutil.rmtree(store, ignore_errors=True)
    return FileResult(source, footage, source.stat().st_size, runs)


def _in_process_cpu(call: Callable[[], object]) -> tuple[float, float]:
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    call()
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - started
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def summarize(result: FileResult, report) -> None:  # type: ignore[no-untyped-def]
    """Adds the figures to a :class:`vidvault.bench.report.Report`: each
    vidvault figure beside ffmpeg's of the same run, the target being
    <= 0.75x (issue 15: ahead of the peer, although we also encrypt, hash,
    index and fsync)."""
    ffmpeg = result.median_cpu(FFMPEG)
    what = f"{result.footage_seconds:g} s of {result.path.name} at {result.bitrate / 1e6:.1f} Mbit/s"
    report.add(f"file ingest, {FFMPEG}: CPU per camera-hour ({what})", ffmpeg, "CPU-s")
    for runner in (VIDVAULT_CLI, VIDVAULT_IN_PROCESS):
        ours = result.median_cpu(runner)
        report.add(f"file ingest, {runner}: CPU per camera-hour", ours, "CPU-s", baseline=ffmpeg,
                   baseline_name=FFMPEG, target="<= 0.75x", met=ours <= 0.75 * ffmpeg)
    report.details["file_runs"] = [dict(r.__dict__, cpu_per_camera_hour=r.cpu_per_camera_hour) for r in result.runs]
