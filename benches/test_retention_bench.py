"""Retention at scale: a sweep over 10,000 segments and a master-key
rotation, each beside its raw-filesystem baseline measured in the same run
(unlinking the same number of files; rewriting a keystore-sized file)."""

from __future__ import annotations

import os
import shutil
import time

import vidvault
from vidvault import Retention

T0 = 1_763_700_000 * 1_000_000_000
HOUR = 3600 * 1_000_000_000
CAMERAS = 10
SEGMENTS_PER_CAMERA = int(os.environ.get("VIDVAULT_BENCH_SEGMENTS", "1000"))


def build(path, key):
    with vidvault.Store.create(path, key=key, roll_after=1800) as s:
        for c in range(CAMERAS):
            cam = f"cam{c}"
            s.add_camera(cam, retention=Retention(max_age="1d", min_age="1d"))
            with s.writer(cam, codec="h264") as w:
                for h in range(SEGMENTS_PER_CAMERA):
                    w.append(T0 + h * HOUR, b"\0" * 2000, keyframe=True, duration=40_000_000)


def test_sweep_of_10000_segments_and_rotation(bench_dir, report, benchmark):
    key = vidvault.generate_key()
    pristine = bench_dir / "pristine"
    t = time.perf_counter()
    build(pristine, key)
    build_s = time.perf_counter() - t
    total = CAMERAS * SEGMENTS_PER_CAMERA
    now = T0 + (SEGMENTS_PER_CAMERA + 48) * HOUR  # everything is past max_age

    # Baseline: unlink as many files of the same size, fsync their directories.
    raw = bench_dir / "raw"
    shutil.copytree(pristine / "segments", raw)
    files = list(raw.rglob("*.vvs"))
    dirs = {f.parent for f in files}
    t = time.perf_counter()
    for f in files:
        os.remove(f)
    for d in dirs:
        fd = os.open(d, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    raw_s = time.perf_counter() - t

    store_path = bench_dir / "store"
    shutil.copytree(pristine, store_path)
    with vidvault.Store.open(store_path, key=key) as s:
        t = time.perf_counter()
        plan = s.enforce_retention(now, dry_run=True)
        plan_s = time.perf_counter() - t
        assert len(plan.deleted) == total
        t = time.perf_counter()
        done = s.enforce_retention(now)
        sweep_s = time.perf_counter() - t
        assert len(done.deleted) == total and not s.segments("cam0")
        keks = len(done.shredded)

    # Rotation beside a raw rewrite of a file the keystore's size.
    store2 = bench_dir / "store2"
    shutil.copytree(pristine, store2)
    keystore_bytes = (store2 / "keys.vvk").stat().st_size
    with vidvault.Store.open(store2, key=key) as s:
        keys = [vidvault.generate_key() for _ in range(10)]
        current = iter([key, *keys])
        next(current)
        benchmark.pedantic(lambda: s.rotate_master_key(next(current)), rounds=5, iterations=1)
        rotate_s = benchmark.stats.stats.median
    blob = os.urandom(keystore_bytes)
    times = []
    for i in range(5):
        t = time.perf_counter()
        tmp = bench_dir / f"k{i}.tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, bench_dir / "k")
        fd = os.open(bench_dir, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        times.append(time.perf_counter() - t)
    raw_rewrite = sorted(times)[2]

    report(f"retention sweep, {total} segments deleted, {keks} day keys shredded", f"{sweep_s:.2f} s",
           f"raw unlink+fsync {raw_s:.2f} s", f"{sweep_s / raw_s:.1f}x")
    report(f"retention dry run over {total} segments", f"{plan_s * 1000:.0f} ms", "-", "-")
    report(f"master-key rotation ({keystore_bytes // 1024} KiB keystore)", f"{rotate_s * 1000:.1f} ms",
           f"raw rewrite+fsync+rename {raw_rewrite * 1000:.1f} ms", f"{rotate_s / raw_rewrite:.1f}x")
    report(f"(building the {total}-segment store took {build_s:.1f} s)", "", "", "")
