"""Helpers the tests share (importable as `helpers`)."""

from __future__ import annotations

import random
from fractions import Fraction

from vidvault import media

#: 2025-11-21T04:40:00Z, a fixed instant tests record at.
T0 = 1_763_700_000 * 1_000_000_000
NS = 1_000_000_000
FRAME_NS = 40_000_000


def ingest_file(store, camera, path, start_ns=T0):
    """Writes every access unit of `path` to `camera`; returns (info, packets, ts list).
    Wall-clock time = start_ns + (pts - first pts) in seconds."""
    with media.PacketSource(path) as src:
        info, packets = src.info, list(src)
    first = min(p.pts for p in packets)
    tss = [start_ns + int((p.pts - first) * info.time_base * NS) for p in packets]
    with store.writer(camera, **info.writer_kwargs()) as w:
        for p, ts in zip(packets, tss):
            w.append(ts, p.data, keyframe=p.keyframe, pts=p.pts, dts=p.dts, duration=p.duration)
    return info, packets, tss


def payload(i: int, marker: bytes = b"") -> bytes:
    """Deterministic access-unit stand-in for frame index i."""
    size = 60_000 if i % 25 == 0 else 200 + (i * 7919) % 20_000
    return marker + random.Random(i).randbytes(size)


def to_ns(pts: int, tb: Fraction) -> int:
    return int(pts * tb * NS)
