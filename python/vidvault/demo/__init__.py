"""`vidvault demo`: the main job on an embedded default.

Generates three cameras of H.264 with PyAV/libx264 (one with B-frames),
ingests them concurrently into a fresh encrypted store, seeks, reads a window
back and checks every access unit is bit-identical to what was written,
decodes it, verifies the store, and reopens it to read again. Then exports a
window with a burned-in watermark as a signed evidence package and verifies it
offline with the pinned public key, and once more after flipping one byte.
With ``s3=True`` (`vidvault demo --s3`) the store then moves its footage to a
real S3 server on loopback, reads, exports and views it from there, and is
restored from the bucket after its directory is deleted (:mod:`.s3_tier`).
"""

from __future__ import annotations

import concurrent.futures
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Callable

from ..export import manifest
from ..export.verify import verify
from ..keys import generate_key
from ..media.decode import decode
from ..media.demux import Packet
from ..media.synthetic import encode_synthetic
from ..store import Store
from ..timeutil import NS_PER_SECOND, iso
from . import redacted_play, s3_tier
from .file_to_store import ingest_file

CAMERAS = [
    # (GB/T 28181 id, label, B-frames)
    ("34020000001320000001", "gate", 0),
    ("34020000001320000002", "lobby", 2),
    ("34020000001320000003", "car-park", 0),
]
SECONDS = 12


def _ingest(store: Store, camera: str, source: Path, start_ns: int) -> tuple[int, list[Packet]]:
    packets = ingest_file(store, camera, source, start_ns)
    return len(packets), packets


def _export_and_verify(store: Store, cam: str, start: int, end: int, base: Path,
                       say: Callable[[str], None]) -> int:
    t = time.perf_counter()
    pkg = base / "evidence"
    result = store.export_clip(cam, start, end, pkg, raw=True, watermark="COPY - demo export", case="DEMO-1",
                               reason="demo", actor="vidvault demo")
    say(f"export         {result.presented} frames to {pkg.name}/ in {(time.perf_counter() - t) * 1000:.0f} ms: "
        f"{', '.join(sorted(p.name for p in pkg.iterdir()))}")
    pinned = store.export_public_key()
    report = verify(pkg, public_key=pinned)
    say(f"verify         offline, pinned key: {'VERIFIED' if report.ok else report.first_failure}")
    if not report.ok:
        return 1
    clip = pkg / manifest.CLIP
    data = bytearray(clip.read_bytes())
    data[len(data) * 2 // 3] ^= 0x01
    clip.write_bytes(bytes(data))
    tampered = verify(pkg, public_key=pinned)
    failure = tampered.first_failure
    say(f"tamper         one bit of clip.mp4 flipped -> "
        f"{'FAILED: ' + failure.name if failure else 'NOT DETECTED'}")
    return 0 if failure is not None else 1


def run(workdir: str | None = None, say: Callable[[str], None] = print, *, s3: bool = False) -> int:
    tmp = tempfile.TemporaryDirectory(prefix="vidvault-demo-") if workdir is None else None
    base = Path(workdir or tmp.name)  # type: ignore[union-attr]
    base.mkdir(parents=True, exist_ok=True)
    try:
        return _run(base, say, s3)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _run(base: Path, say: Callable[[str], None], s3: bool) -> int:
    key = generate_key()
    say(f"workspace      {base}")
    say("master key     32 random bytes, held in memory only (never printed)")

    t = time.perf_counter()
    sources = {}
    for cam, label, bframes in CAMERAS:
        sources[cam] = encode_synthetic(
            base / f"{label}.mp4", width=640, height=360, fps=25, seconds=SECONDS, bframes=bframes,
            seed=len(sources),
        )
    say(f"encoded        {len(CAMERAS)} cameras x {SECONDS} s of 640x360 H.264 (libx264) "
        f"in {time.perf_counter() - t:.1f} s")

    store_path = base / "store"
    start_ns = (time.time_ns() // NS_PER_SECOND - 3600) * NS_PER_SECOND
    with Store.create(store_path, key=key, roll_after=5.0) as store:
        for cam, label, _ in CAMERAS:
            store.add_camera(cam, labels={"area": "district-3", "place": label})
        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(len(CAMERAS)) as pool:
            jobs = {cam: pool.submit(_ingest, store, cam, sources[cam], start_ns) for cam, _, _ in CAMERAS}
            written = {cam: job.result() for cam, job in jobs.items()}
        elapsed = time.perf_counter() - t
        total = sum(n for n, _ in written.values())
        size = sum(len(p.data) for _, pk in written.values() for p in pk)
        say(f"ingested       {total} access units, {size / 1e6:.1f} MB, from {len(CAMERAS)} threads "
            f"in {elapsed * 1000:.0f} ms (encrypted, indexed, synced)")

        cam, label, _ = CAMERAS[1]
        segs = store.segments(cam)
        say(f"segments       camera {cam} ({label}, B-frames): {len(segs)} sealed segments, "
            f"hash-chained: {all(s.prev_hash == p.content_hash for p, s in zip(segs, segs[1:]))}")

        target = start_ns + 7 * NS_PER_SECOND + 300_000_000
        t = time.perf_counter()
        kf = store.seek(cam, target)
        seek_ms = (time.perf_counter() - t) * 1000
        assert kf is not None and kf.keyframe
        say(f"seek           {iso(target)} -> keyframe at {iso(kf.ts)} ({seek_ms:.2f} ms)")

        window_end = target + 3 * NS_PER_SECOND
        frames = list(store.read(cam, target, window_end))
        _, packets = written[cam]
        by_dts = {p.dts: p.data for p in packets}
        identical = all(by_dts.get(f.dts) == f.data for f in frames)
        say(f"read           {len(frames)} frames for [{iso(target)}, +3 s), bit-identical to the "
            f"source: {identical}")
        if not identical:
            say("ERROR: stored frames differ from the source")
            return 1

        config = store.segment_config(frames[0].segment)
        pictures = list(decode(config, frames))
        tb = Fraction(*config.time_base)
        first_pts = min(p.pts for p in packets if p.pts is not None)
        shown = [pic for pic in pictures if start_ns + int((pic.pts - first_pts) * tb * NS_PER_SECOND) >= target]
        say(f"decoded        {len(pictures)} pictures ({config.width}x{config.height}); "
            f"{len(shown)} fall inside the requested window")

        gaps = store.gaps(cam, start_ns - NS_PER_SECOND * 10, start_ns + SECONDS * NS_PER_SECOND)
        say(f"gaps           {[(iso(g.start), f'{g.duration.total_seconds():.0f} s') for g in gaps]}")
        report = store.fsck(deep=True)
        say(f"fsck --deep    {report.segments} segments, {report.frames} frames: "
            f"{'OK' if report.ok else report.problems}")
        if not report.ok:
            return 1

        if not redacted_play.run(store, base, start_ns, say):
            say("ERROR: a face was left visible in desensitized playback")
            return 1

    with Store.open(store_path, key=key) as store:
        again = list(store.read(cam, target, window_end))
        same = [f.data for f in again] == [f.data for f in frames]
        say(f"reopened       same {len(again)} frames after reopening: {same}")
        if not same:
            return 1
        if _export_and_verify(store, cam, target, window_end, base, say) != 0:
            return 1
    samples = [p.data[16:48] for _, pk in written.values() for p in pk[::25]]
    leaked = [f.name for f in store_path.rglob("*") if f.is_file() and any(s in f.read_bytes() for s in samples)]
    say(f"at rest        searched every file of the store for {len(samples)} plaintext samples: "
        f"{'none found' if not leaked else 'FOUND in ' + ', '.join(leaked)}")
    if leaked:
        return 1
    if s3 and not s3_tier.run(store_path, key, cam, (target, window_end), [f.data for f in frames], samples, base,
                              say):
        say("ERROR: the footage did not come back the same from the bucket")
        return 1
    say("demo OK")
    return 0
