"""`vidvault bench ingest`: simulated cameras written through the real
Python API from several threads, in real time or as fast as possible, beside
the raw disk baseline (the same bytes, in files of the same sizes, written
and fdatasynced at the same cadence, by as many threads) measured in the
same run on the same directory."""

from __future__ import annotations

import array
import heapq
import mmap
import os
import random
import resource
import shutil
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..keys import generate_key
from ..store import Store
from .machine import rss_bytes
from ..status_line import StatusLine
from .workload import CameraProfile, payload_pool

#: A frame that cannot be appended within this long of its due time is
#: dropped, as a camera's send buffer would overflow (and the camera then
#: waits for the next keyframe).
DROP_AFTER_NS = 1_000_000_000
SLEEP_SLACK_NS = 1_000_000


@dataclass
class IngestRun:
    cameras: int
    realtime: bool
    footage_seconds: float
    #: seconds appending, then until every writer was sealed and synced
    appending: float
    elapsed: float
    frames: int
    dropped: int
    late: int
    payload_bytes: int
    disk_bytes: int
    append_ns: array.array
    sync_us: list[int]
    cpu_seconds: float
    rss_base: int
    rss_peak: int
    file_sizes: list[list[int]] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.disk_bytes / self.elapsed / 1e6

    @property
    def rss_per_camera(self) -> float:
        return max(0, self.rss_peak - self.rss_base) / self.cameras

    @property
    def cpu_per_camera_hour(self) -> float:
        return self.cpu_seconds / (self.cameras * self.footage_seconds / 3600)


def percentile(values: list[int] | array.array, q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return float(s[min(len(s) - 1, int(q * len(s)))])


class _Camera:
    """One simulated camera's schedule and state inside a writer thread."""

    __slots__ = ("writer", "rng", "index", "waiting_for_keyframe")

    def __init__(self, writer, seed: int) -> None:  # type: ignore[no-untyped-def]
        self.writer = writer
        self.rng = random.Random(seed)
        self.index = 0
        self.waiting_for_keyframe = False


def run(directory: Path, *, cameras: int, profile: CameraProfile, seconds: float, sync_interval: float = 1.0,
        threads: int | None = None, realtime: bool = True, progress: StatusLine | None = None,
        commit_mode: str = "syncfs") -> IngestRun:
    """Writes `seconds` of footage for each of `cameras` cameras into a new
    store under `directory` and measures the run."""
    progress = progress or StatusLine(enabled=False)
    threads = max(1, min(threads or min(cameras, 2 * (os.cpu_count() or 2)), cameras))
    frames_per_camera = max(1, int(seconds * profile.fps))
    interval = profile.frame_interval_ns
    store = Store.create(directory / "store", key=generate_key(), sync_interval=sync_interval, commit_mode=commit_mode)
    per_gop = profile.bitrate / 8 * profile.gop / profile.fps
    key_size = int(per_gop / (profile.keyframe_ratio + profile.gop - 1) * profile.keyframe_ratio * (1 + profile.jitter))
    pool = payload_pool(key_size)
    names = [f"bench-{c:05d}" for c in range(cameras)]
    for name in names:
        store.add_camera(name)
    rss_base = rss_bytes()
    cams = [_Camera(store.writer(n, codec="h264", time_base=(1, profile.fps)), seed=c) for c, n in enumerate(names)]
    counters = {"frames": 0, "dropped": 0, "late": 0, "bytes": 0}
    lock = threading.Lock()
    latencies: list[array.array] = []
    errors: list[BaseException] = []
    wall0 = time.time_ns()
    # Real time starts 100 ms ahead, so every thread is waiting when the first frames fall due.
    start = time.monotonic_ns() + (100_000_000 if realtime else 0)

    def per_frame_size(cam: _Camera, i: int) -> int:
        base = per_gop / (profile.keyframe_ratio + profile.gop - 1)
        if i % profile.gop == 0:
            base *= profile.keyframe_ratio
        return max(64, int(base * cam.rng.uniform(1 - profile.jitter, 1 + profile.jitter)))

    def worker(mine: list[int]) -> None:
        lat = array.array("Q")
        latencies.append(lat)
        frames = dropped = late = nbytes = 0
        heap = [(start + (c * interval) // cameras, c) for c in mine]
        heapq.heapify(heap)
        offset = 0
        try:
            while heap:
                due, c = heap[0]
                cam = cams[c]
                i = cam.index
                if realtime:
                    now = time.monotonic_ns()
                    # Frames due within the next millisecond go now: one
                    # wake-up serves a batch, as a socket read would.
                    if due > now + SLEEP_SLACK_NS:
                        time.sleep((due - now) / 1e9)
                        now = time.monotonic_ns()
                    lateness = max(0, now - due)
                else:
                    lateness = 0
                size = per_frame_size(cam, i)
                keyframe = i % profile.gop == 0
                if lateness > DROP_AFTER_NS or (cam.waiting_for_keyframe and not keyframe):
                    dropped += 1
                    cam.waiting_for_keyframe = True
                else:
                    cam.waiting_for_keyframe = False
                    if offset + size > len(pool):
                        offset = 0
                    data = pool[offset:offset + size]
                    offset += 4099
                    t = time.perf_counter_ns()
                    cam.writer.append(wall0 + i * interval, data, keyframe=keyframe, pts=i, dts=i, duration=1)
                    lat.append(time.perf_counter_ns() - t)
                    frames += 1
                    nbytes += size
                    if lateness > interval:
                        late += 1
                cam.index = i + 1
                if cam.index < frames_per_camera:
                    heapq.heapreplace(heap, (due + interval, c))
                else:
                    heapq.heappop(heap)
                if frames % 256 == 0:
                    with lock:
                        counters["frames"] += frames
                        counters["bytes"] += nbytes
                        frames = nbytes = 0
        except BaseException as e:  # surfaced after join
            errors.append(e)
        with lock:
            counters["frames"] += frames
            counters["bytes"] += nbytes
            counters["dropped"] += dropped
            counters["late"] += late

    rss_peak = rss_bytes()
    stop = threading.Event()

    def monitor() -> None:
        nonlocal rss_peak
        while not stop.wait(0.5):
            rss_peak = max(rss_peak, rss_bytes())
            el = max(1e-9, (time.monotonic_ns() - start) / 1e9)
            with lock:
                f, b = counters["frames"], counters["bytes"]
            progress(f"ingest: {cameras} cameras, {el:6.1f} s, {f:,} frames, {b / el / 1e6:7.1f} MB/s")

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    mon = threading.Thread(target=monitor, daemon=True)
    mon.start()
    pool_threads = [threading.Thread(target=worker, args=(list(range(k, cameras, threads)),)) for k in range(threads)]
    for t in pool_threads:
        t.start()
    for t in pool_threads:
        t.join()
    appending = (time.monotonic_ns() - start) / 1e9
    for cam in cams:
        cam.writer.close()  # seals and syncs: part of the measured run
    elapsed = (time.monotonic_ns() - start) / 1e9
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    mon.join()
    progress.done()
    if errors:
        store.close()
        raise errors[0]
    sync_us = [us for cam in cams for us in cam.writer.stats["recent_sync_us"]]
    store.close()
    file_sizes = []
    for name in names:
        files = sorted((directory / "store" / "segments" / name).rglob("*.vvs"))
        file_sizes.append([f.stat().st_size for f in files])
    return IngestRun(
        cameras=cameras, realtime=realtime, footage_seconds=frames_per_camera / profile.fps, appending=appending,
        elapsed=elapsed,
        frames=counters["frames"], dropped=counters["dropped"], late=counters["late"],
        payload_bytes=counters["bytes"], disk_bytes=sum(map(sum, file_sizes)),
        append_ns=array.array("Q", (x for lat in latencies for x in lat)), sync_us=sync_us,
        cpu_seconds=(cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
        rss_base=rss_base, rss_peak=rss_peak, file_sizes=file_sizes,
    )


def expected_file_sizes(cameras: int, profile: CameraProfile, seconds: float) -> list[list[int]]:
    """Segment file sizes a run will write, before it runs: each camera's
    bytes in files of 5 minutes of footage (the store's default roll)."""
    total = int(profile.bitrate / 8 * seconds)
    per_file = max(1, int(profile.bitrate / 8 * 300))
    sizes = [per_file] * (total // per_file) + ([total % per_file] if total % per_file else [])
    return [list(sizes) for _ in range(cameras)]


def raw_baseline(directory: Path, file_sizes: list[list[int]], *, threads: int, sync_interval: float = 1.0,
                 direct: bool = False) -> float | None:
    """Seconds to write the same bytes in files of the same sizes (one
    stream of files per camera, cameras spread over `threads` threads):
    512 KiB writes, fdatasync every `sync_interval` and at each file's end,
    directory fsync per new file. No encryption, framing, index or hash.

    `direct` writes with O_DIRECT from an aligned buffer (sizes rounded up to
    4 KiB), as the store does: on storage whose page cache costs more than it
    gives this is the faster baseline. None when the filesystem refuses
    O_DIRECT (tmpfs)."""
    target = directory / "raw"
    target.mkdir()
    # mmap memory is page-aligned, as O_DIRECT needs.
    chunk = mmap.mmap(-1, 512 << 10)
    chunk.write(os.urandom(512 << 10))
    view = memoryview(chunk)
    threads = max(1, min(threads, len(file_sizes)))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_DIRECT if direct else 0)
    refused: list[OSError] = []

    def write(cams: list[int]) -> None:
        last_sync = time.monotonic()
        dfd = os.open(target, os.O_RDONLY)
        try:
            for c in cams:
                for n, size in enumerate(file_sizes[c]):
                    try:
                        fd = os.open(target / f"{c}-{n}", flags, 0o600)
                    except OSError as e:
                        refused.append(e)
                        return
                    os.fsync(dfd)
                    try:
                        left = -(-size // 4096) * 4096 if direct else size
                        while left > 0:
                            left -= os.write(fd, view[: min(left, len(view))])
                            if time.monotonic() - last_sync >= sync_interval:
                                os.fdatasync(fd)
                                last_sync = time.monotonic()
                        os.fdatasync(fd)
                    finally:
                        os.close(fd)
        finally:
            os.close(dfd)

    t0 = time.perf_counter()
    workers = [threading.Thread(target=write, args=(list(range(k, len(file_sizes), threads)),)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    shutil.rmtree(target, ignore_errors=True)
    view.release()
    chunk.close()
    if refused:
        if direct:
            return None
        raise refused[0]
    return elapsed


def raw_runs(directory: Path, file_sizes: list[list[int]], *, threads: int, sync_interval: float, when: str,
             direct: bool = True) -> dict[str, float]:
    """MB/s of `raw_baseline` over these file sizes, buffered and (unless
    `direct` is False or the filesystem refuses it) O_DIRECT."""
    total = sum(map(sum, file_sizes))
    out = {}
    for name, use_direct in (("buffered", False), ("O_DIRECT", True))[: 2 if direct else 1]:
        seconds = raw_baseline(directory, file_sizes, threads=threads, sync_interval=sync_interval, direct=use_direct)
        if seconds is not None:
            out[f"{name}, {when}"] = total / seconds / 1e6
    return out


@dataclass
class RawBaseline:
    """The raw write + fdatasync baseline: buffered before vidvault's run,
    buffered and O_DIRECT after it. Storage whose speed moves during a run
    (a host's write cache, a controller's) shows as different figures, and
    the ratio is taken against the fastest, so it never flatters vidvault."""
    runs: dict[str, float]  # "buffered, before the run" -> MB/s

    @property
    def best(self) -> tuple[str, float]:
        return max(self.runs.items(), key=lambda kv: kv[1])

    @property
    def spread(self) -> float:
        """Fastest / slowest of the buffered runs (same method, other time)."""
        buffered = [v for k, v in self.runs.items() if k.startswith("buffered")]
        return max(buffered) / max(1e-9, min(buffered))


def summarize(result: IngestRun, raw: RawBaseline, report) -> None:  # type: ignore[no-untyped-def]
    """Adds the ingest figures (beside the raw baseline) to a report."""
    best_name, raw_mbps = raw.best
    if result.realtime:
        need = result.disk_bytes / result.footage_seconds / 1e6
        report.add("write rate needed in real time", need, "MB/s", baseline=raw_mbps,
                   baseline_name="raw write+fdatasync capacity", target="ratio < 1 (headroom)", met=need < raw_mbps)
    else:
        report.add("ingest throughput", result.mb_per_s, "MB/s", baseline=raw_mbps,
                   baseline_name="raw write+fdatasync, same bytes", target=">= 90% of raw",
                   met=result.mb_per_s >= 0.9 * raw_mbps)
    report.notes.append("raw baseline: " + ", ".join(f"{k} {v:,.0f} MB/s" for k, v in raw.runs.items())
                        + f"; the fastest ({best_name}) is the baseline")
    if raw.spread > 1.25:
        report.notes.append(f"the storage's speed moved by {raw.spread:.1f}x during the run (a write cache "
                            "filling or draining?): repeat with more --seconds before trusting the ratio")
    report.add("frames appended", result.frames / result.appending, "frames/s")
    report.add("sealing and syncing every writer at the end", result.elapsed - result.appending, "s")
    p99 = percentile(result.append_ns, 0.99) / 1e6
    report.add("append latency p50", percentile(result.append_ns, 0.5) / 1e3, "us")
    report.add("append latency p99", p99 * 1000, "us", target="< 2000 us", met=p99 < 2.0)
    report.add("append latency max", (max(result.append_ns) if result.append_ns else 0) / 1e3, "us")
    report.add("commit (write+fdatasync) p50", percentile(result.sync_us, 0.5) / 1e3, "ms")
    report.add("commit (write+fdatasync) p99", percentile(result.sync_us, 0.99) / 1e3, "ms")
    report.add("commit (write+fdatasync) max", (max(result.sync_us) if result.sync_us else 0) / 1e3, "ms")
    report.add("CPU per camera-hour", result.cpu_per_camera_hour, "CPU s")
    mib = result.rss_per_camera / 2**20
    if result.realtime:
        report.add("resident memory per camera", mib, "MiB", target="<= 1 MiB", met=mib <= 1.0)
    else:
        # A camera written as fast as possible queues up to the store's
        # max_pending_bytes (8 MiB) before append writes in its own thread:
        # the memory target is for cameras at their real bitrate.
        report.add("resident memory per camera (as fast as possible)", mib, "MiB")
    if result.realtime:
        total = result.frames + result.dropped
        report.add("late frames (> 1 frame interval)", 100 * result.late / max(1, total), "%")
        report.add("dropped frames (> 1 s late)", 100 * result.dropped / max(1, total), "%", target="0", met=result.dropped == 0)
    report.details.update(
        frames=result.frames, dropped=result.dropped, late=result.late, elapsed_s=result.elapsed,
        appending_s=result.appending,
        disk_bytes=result.disk_bytes, payload_bytes=result.payload_bytes,
        raw_mbps=raw.runs,
        cpu_seconds=result.cpu_seconds, rss_base=result.rss_base, rss_peak=result.rss_peak,
        segment_files=sum(len(s) for s in result.file_sizes),
        append_median_us=statistics.median(result.append_ns) / 1e3 if result.append_ns else 0,
    )
