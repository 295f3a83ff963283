"""`vidvault bench capacity`: the largest number of cameras this storage and
this machine hold in real time, found by search (doubling, then bisection),
and the resource that runs out first."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import ingest
from ..status_line import StatusLine
from .workload import CameraProfile


@dataclass
class Trial:
    cameras: int
    held: bool
    why: str
    result: ingest.IngestRun


def held_in_real_time(r: ingest.IngestRun, p99_bound_ms: float) -> tuple[bool, str]:
    """Every frame appended (none dropped) and p99 append latency under the bound."""
    p99 = ingest.percentile(r.append_ns, 0.99) / 1e6
    if r.dropped:
        return False, f"{r.dropped} frames dropped (> 1 s behind)"
    if p99 >= p99_bound_ms:
        return False, f"p99 append latency {p99:.2f} ms >= {p99_bound_ms} ms"
    return True, f"p99 append latency {p99:.2f} ms, no frame dropped"


def limiting_resource(r: ingest.IngestRun, raw_mbps: float, profile: CameraProfile, sync_interval: float) -> str:
    """Names what ran out when `r` failed: the disk, the CPU, memory, or
    (none of them saturated) scheduling latency."""
    cores = os.cpu_count() or 1
    cpu_busy = r.cpu_seconds / r.elapsed / cores
    needed_mbps = r.cameras * profile.bitrate / 8 / 1e6
    commit_p99_s = ingest.percentile(r.sync_us, 0.99) / 1e6
    free_mem = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if needed_mbps >= 0.9 * raw_mbps or commit_p99_s > sync_interval:
        return (f"disk: {needed_mbps:.0f} MB/s needed, raw capacity {raw_mbps:.0f} MB/s, "
                f"commit p99 {commit_p99_s * 1000:.0f} ms")
    if cpu_busy >= 0.85:
        return f"CPU: {cpu_busy:.0%} of {cores} cores busy"
    if r.rss_per_camera * r.cameras * 2 > free_mem:
        return f"memory: {r.rss_per_camera * r.cameras / 2**30:.1f} GiB resident for writers"
    return f"scheduling latency (CPU {cpu_busy:.0%} busy, disk at {needed_mbps / raw_mbps:.0%} of raw)"


def search(directory: Path, profile: CameraProfile, *, seconds: float, p99_bound_ms: float, sync_interval: float,
           start: int, limit: int, threads: int | None,
           progress: StatusLine, say: Callable[[str], None]) -> tuple[int, list[Trial]]:
    trials: list[Trial] = []

    def trial(n: int) -> Trial:
        work = directory / f"trial-{n}"
        work.mkdir()
        try:
            r = ingest.run(work, cameras=n, profile=profile, seconds=seconds, sync_interval=sync_interval,
                           threads=threads, realtime=True, progress=progress)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        ok, why = held_in_real_time(r, p99_bound_ms)
        t = Trial(n, ok, why, r)
        trials.append(t)
        say(f"capacity: {n} cameras: {'held' if ok else 'NOT held'} ({why})")
        return t

    best, n = 0, max(1, start)
    while n <= limit:
        if not trial(n).held:
            break
        best, n = n, n * 2
    else:
        return best, trials
    lo, hi = best, n  # lo held (or 0), hi did not
    while hi - lo > max(1, lo // 16):
        mid = (lo + hi) // 2
        if trial(mid).held:
            lo = mid
        else:
            hi = mid
    return lo, trials
