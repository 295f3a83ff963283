"""`vidvault bench seek`: random seeks through the Python API over stores of
growing size (1 hour, 1 day, 1 week of one camera), beside a raw random
4 KiB read of a file as large as each store.

Seek cost depends on the catalog (segments) and on footer indexes
(keyframes), not on the frames between keyframes, so the stores hold only
the keyframes of a 25 fps, GOP-50 stream (one every 2 s, 5-minute segments):
a week is 302,400 keyframes in 2,016 segments and builds in seconds.

Two kinds of seek are timed apart, because their mix, not the store size,
decides an average: the *first* seek into a segment since the store was
opened (file opened, footer index read and decompressed, data key unwrapped)
and a *repeat* seek into a segment already opened (one index lookup and one
record read). Random seeks over a week mostly land in segments not yet
opened, over an hour almost never; mixing them would report that as growth
with store size."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

from ..keys import generate_key
from ..store import Store

SIZES = {"1h": 3600, "1d": 86_400, "1w": 7 * 86_400}
KEYFRAME_EVERY_NS = 2_000_000_000
T0 = 1_763_700_000 * 1_000_000_000


@dataclass
class SeekResult:
    label: str
    footage_seconds: int
    segments: int
    keyframes: int
    build_seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    first_seeks: int
    first_p50_ms: float
    first_p99_ms: float
    raw_p50_ms: float
    raw_p99_ms: float


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 and the maximum."""
    s = sorted(values)
    return s[len(s) // 2], s[min(len(s) - 1, int(0.99 * len(s)))], s[-1]


def _raw_reads(path: Path, size: int, count: int, rng: random.Random) -> list[float]:
    """4 KiB preads at random offsets of a file of `size` bytes."""
    with open(path, "wb") as f:
        f.truncate(0)
        chunk = os.urandom(1 << 20)
        left = size
        while left > 0:
            left -= f.write(chunk[: min(left, len(chunk))])
    fd = os.open(path, os.O_RDONLY)
    try:
        out = []
        for _ in range(count):
            off = rng.randrange(0, max(1, size - 4096)) & ~4095
            t = time.perf_counter()
            os.pread(fd, 4096, off)
            out.append((time.perf_counter() - t) * 1000)
        return out
    finally:
        os.close(fd)
        os.unlink(path)


def run(directory: Path, label: str, *, seeks: int, say=print) -> SeekResult:  # type: ignore[no-untyped-def]
    seconds = SIZES[label]
    keyframes = seconds * 1_000_000_000 // KEYFRAME_EVERY_NS
    t = time.perf_counter()
    path = directory / f"store-{label}"
    key = generate_key()
    with Store.create(path, key=key) as store:
        store.add_camera("cam")
        with store.writer("cam", codec="h264") as w:
            payload = bytes(16)
            for i in range(keyframes):
                w.append(T0 + i * KEYFRAME_EVERY_NS, payload, keyframe=True, duration=KEYFRAME_EVERY_NS)
        segments = len(store.segments("cam"))
    build = time.perf_counter() - t
    say(f"seek: built {label} ({keyframes:,} keyframes, {segments:,} segments) in {build:.1f} s")
    rng = random.Random(42)
    span = seconds * 1_000_000_000
    segment_span = -(-span // segments)
    # Reopened: the seeks start from what a restarted service would have.
    with Store.open(path, key=key) as store:
        store.seek("cam", T0)  # the catalog's first query, not a seek figure
        # First seek into each of a random sample of segments (the one just
        # used excluded), at a random instant inside it.
        sample = rng.sample(range(1, segments), min(seeks, segments - 1))
        first = [_timed_seek(store, T0 + i * segment_span + rng.randrange(segment_span)) for i in sample]
        # Repeat seeks: random instants in segments opened above.
        times = [
            _timed_seek(store, T0 + rng.choice(sample) * segment_span + rng.randrange(segment_span))
            for _ in range(seeks)
        ]
    size = sum(f.stat().st_size for f in path.rglob("*.vvs"))
    raw = _raw_reads(directory / f"raw-{label}", size, seeks, rng)
    p50, p99, mx = percentiles(times)
    f50, f99, _ = percentiles(first)
    r50, r99, _ = percentiles(raw)
    return SeekResult(label, seconds, segments, keyframes, build, p50, p99, mx, len(first), f50, f99, r50, r99)


def _timed_seek(store: Store, target: int) -> float:
    t = time.perf_counter()
    frame = store.seek("cam", target)
    elapsed = (time.perf_counter() - t) * 1000
    assert frame is not None and frame.ts <= target
    return elapsed

