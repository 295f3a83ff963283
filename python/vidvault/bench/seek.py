"""`vidvault bench seek`: random seeks through the Python API over stores of
growing size (1 hour, 1 day, 1 week, 1 year of one camera), beside a raw
random 4 KiB read of a file as large as each store.

Seek cost depends on the catalog (segments) and on footer indexes
(keyframes), not on the frames between keyframes, so the stores hold only
the keyframes of a 25 fps, GOP-50 stream (one every 2 s, 5-minute segments
unless told otherwise): a year is 15.8 million keyframes in 105,120 segments.

Three kinds of seek are timed apart, each on a store just reopened (as after
a restart), because their mix, not the store size, decides an average:
- *mixed*: random instants over the whole store, what a user gets. Over an
  hour almost every one lands in a segment already opened, over a year
  almost none does, so this figure carries the cost of the first seek;
- *first*: one seek into each of a random sample of segments (file opened,
  identity checked, footer index read, data key unwrapped);
- *repeat*: random instants in the segments the first seeks opened.

The seeks go through what a player scrubbing a timeline uses: a session's
``raw_footage`` over the whole store, checked and audited once, then
``seek`` on it. ``Store.seek`` on a trusted handle commits one durable audit
entry per call (an fsync of the audit log), which is timed apart as
``audited``: that cost is the disk's, the same at every store size.

Each store is built once and measured `runs` times: the growth from the
smallest to the largest size is reported for every run, since a target on
growth must hold in every run, not on average."""

from __future__ import annotations

import gc
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..keys import generate_key
from ..store import Store

SIZES = {"1h": 3600, "1d": 86_400, "1w": 7 * 86_400, "1y": 365 * 86_400}
KEYFRAME_EVERY_NS = 2_000_000_000
T0 = 1_763_700_000 * 1_000_000_000
KINDS = ("mixed", "repeat", "first")


@dataclass
class SeekRun:
    """One measuring pass over a built store: p50 and p99 of each kind (ms)."""

    p50_ms: dict[str, float]
    p99_ms: dict[str, float]
    max_ms: dict[str, float]
    cpu_p50_ms: dict[str, float]
    cpu_p99_ms: dict[str, float]
    first_seeks: int
    audited_p50_ms: float
    audited_p99_ms: float
    raw_p50_ms: float
    raw_p99_ms: float


@dataclass
class SeekResult:
    label: str
    footage_seconds: int
    segment_minutes: float
    segments: int
    keyframes: int
    build_seconds: float
    disk_bytes: int
    runs: list[SeekRun] = field(default_factory=list)

    def worst_p99(self, kind: str, *, cpu: bool = False) -> float:
        return max((r.cpu_p99_ms if cpu else r.p99_ms)[kind] for r in self.runs)


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 and the maximum."""
    s = sorted(values)
    return s[len(s) // 2], s[min(len(s) - 1, int(0.99 * len(s)))], s[-1]


def _write_raw_file(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        chunk = os.urandom(1 << 20)
        left = size
        while left > 0:
            left -= f.write(chunk[: min(left, len(chunk))])


def _raw_reads(path: Path, size: int, count: int, rng: random.Random) -> list[float]:
    """4 KiB preads at random offsets of the file at `path` (`size` bytes)."""
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


def build(directory: Path, label: str, key: bytes, *, segment_minutes: float, say=print) -> SeekResult:  # type: ignore[no-untyped-def]
    """Builds the store of `label` through the public API (keyframes only)."""
    seconds = SIZES[label]
    keyframes = seconds * 1_000_000_000 // KEYFRAME_EVERY_NS
    t = time.perf_counter()
    path = directory / f"store-{label}"
    with Store.create(path, key=key, roll_after=segment_minutes * 60) as store:
        store.add_camera("cam")
        with store.writer("cam", codec="h264") as w:
            payload = bytes(16)
            append = w.append
            for i in range(keyframes):
                append(T0 + i * KEYFRAME_EVERY_NS, payload, keyframe=True, duration=KEYFRAME_EVERY_NS)
        segments = len(store.segments("cam"))
    elapsed = time.perf_counter() - t
    disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    say(f"seek: built {label} ({keyframes:,} keyframes, {segments:,} segments, {disk / 1e6:,.0f} MB) "
        f"in {elapsed:.1f} s")
    return SeekResult(label, seconds, segment_minutes, segments, keyframes, elapsed, disk)


def _footage(store: Store, span: int):  # type: ignore[no-untyped-def]
    """The whole store's footage through a session: one grant check and one
    audit entry, then seeks as a player makes them."""
    until = time.time_ns() + 86_400 * 1_000_000_000
    token = store.issue_grant(to="bench.seek", actions=["view_raw"], cameras=["cam"], valid_until=until,
                              case="bench", issued_by="bench")
    return store.session("bench.seek", [token]).raw_footage("cam", T0, T0 + span)


def measure(directory: Path, result: SeekResult, key: bytes, *, seeks: int, seed: int,
            audited: int = 100) -> SeekRun:
    """One pass of the kinds of seek over a built store."""
    rng = random.Random(seed)
    path = directory / f"store-{result.label}"
    span = result.footage_seconds * 1_000_000_000
    # The interpreter's cyclic collector runs when allocations say so, for
    # milliseconds on a large heap, whatever the store does: it is kept out
    # of the timed loops (the process's cost, not the seek's).
    gc.collect()
    gc.disable()
    try:
        times = _timed_seeks(path, key, span, result.segments, seeks, audited, rng)
    finally:
        gc.enable()
    raw_path = directory / f"raw-{result.label}"
    size = sum(f.stat().st_size for f in path.rglob("*.vvs"))
    if not raw_path.exists():
        _write_raw_file(raw_path, size)
    r50, r99, _ = percentiles(_raw_reads(raw_path, size, seeks, rng))
    stats = {kind: percentiles([wall for wall, _ in values]) for kind, values in times.items()}
    cpu = {kind: percentiles([c for _, c in values]) for kind, values in times.items()}
    return SeekRun(
        p50_ms={k: stats[k][0] for k in KINDS},
        p99_ms={k: stats[k][1] for k in KINDS},
        max_ms={k: stats[k][2] for k in KINDS},
        cpu_p50_ms={k: cpu[k][0] for k in KINDS},
        cpu_p99_ms={k: cpu[k][1] for k in KINDS},
        first_seeks=len(times["first"]),
        audited_p50_ms=stats["audited"][0],
        audited_p99_ms=stats["audited"][1],
        raw_p50_ms=r50,
        raw_p99_ms=r99,
    )


def _timed_seeks(path: Path, key: bytes, span: int, segments: int, seeks: int, audited: int,
                 rng: random.Random) -> dict[str, list[tuple[float, float]]]:
    segment_span = -(-span // segments)
    times: dict[str, list[tuple[float, float]]] = {}
    with Store.open(path, key=key) as store:
        footage = _footage(store, span)
        footage.seek("cam", T0)  # the catalog's first query, not a seek figure
        targets = [T0 + rng.randrange(span) for _ in range(seeks)]
        times["mixed"] = [_timed_seek(footage, t) for t in targets]
        # The trusted handle's own seek, audited per call, at instants seeked
        # above (segments already opened: only the audit commit differs).
        times["audited"] = [_timed_seek(store, t) for t in targets[:audited]]
    with Store.open(path, key=key) as store:
        footage = _footage(store, span)
        footage.seek("cam", T0)
        # First seek into each of a random sample of segments (the one just
        # used excluded), at a random instant inside it.
        sample = rng.sample(range(1, segments), min(seeks, segments - 1))
        times["first"] = [_timed_seek(footage, T0 + i * segment_span + rng.randrange(segment_span)) for i in sample]
        # Repeat seeks: random instants in segments opened above.
        times["repeat"] = [
            _timed_seek(footage, T0 + rng.choice(sample) * segment_span + rng.randrange(segment_span))
            for _ in range(seeks)
        ]
    return times


def run(directory: Path, labels: list[str], *, seeks: int, runs: int, segment_minutes: float,
        say=print) -> list[SeekResult]:  # type: ignore[no-untyped-def]
    """Builds every store, then measures them all `runs` times (sizes
    interleaved within a run, so a run's growth compares like with like)."""
    key = generate_key()
    results = [build(directory, label, key, segment_minutes=segment_minutes, say=say) for label in labels]
    for n in range(runs):
        for r in results:
            r.runs.append(measure(directory, r, key, seeks=seeks, seed=42 + n))
            p99 = r.runs[-1].p99_ms
            cpu = r.runs[-1].cpu_p99_ms
            say(f"seek: run {n + 1}, {r.label}: p99 mixed {p99['mixed']:.3f} ms, repeat {p99['repeat']:.3f} ms, "
                f"first {p99['first']:.3f} ms; CPU p99 {cpu['mixed']:.3f} / {cpu['repeat']:.3f} / "
                f"{cpu['first']:.3f} ms")
    return results


def growth(results: list[SeekResult], kind: str, *, cpu: bool = False) -> list[float]:
    """p99 growth from the first size to the last, one figure per run."""
    first, last = results[0], results[-1]
    of = (lambda r: r.cpu_p99_ms[kind]) if cpu else (lambda r: r.p99_ms[kind])
    return [of(b) / of(a) for a, b in zip(first.runs, last.runs)]


def _timed_seek(footage, target: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Wall time and this thread's CPU time of one seek (ms). On a shared
    machine a seek preempted by another process waits a scheduler slice
    (ms) in wall time; its CPU time is what the store costs."""
    t, c = time.perf_counter(), time.thread_time()
    frame = footage.seek("cam", target)
    elapsed, cpu = (time.perf_counter() - t) * 1000, (time.thread_time() - c) * 1000
    assert frame is not None and frame.ts <= target
    return elapsed, cpu
