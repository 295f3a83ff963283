"""Sweeps and key rotations killed with SIGKILL at random moments: after
reopening, the catalog and the files agree, and every key opens what it
should."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import vidvault
from vidvault import Retention

from helpers import NS, T0

HERE = Path(__file__).parent
HOUR = 3600 * NS
ITERATIONS = int(os.environ.get("VIDVAULT_CRASH_ITERATIONS", "12"))


def _spawn(*args):
    env = {**os.environ, "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen([sys.executable, str(HERE / "retention_child.py"), *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline().strip() == "go", child.stderr.read()
    return child


def _kill_after(child, delay):
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()


def _build(path, key, cameras=4, hours=300):
    """Many small segments (one an hour per camera) across two weeks."""
    with vidvault.Store.create(path, key=key, roll_after=1800) as s:
        for c in range(cameras):
            cam = f"cam{c}"
            s.add_camera(cam, retention=Retention(max_age="3d", min_age="1d"))
            with s.writer(cam, codec="h264") as w:
                for h in range(hours):
                    w.append(T0 + h * HOUR, bytes([h % 256]) * 400, keyframe=True, duration=40_000_000)
        s.hold("cam0", T0 + 10 * HOUR, T0 + 20 * HOUR, case="C-9", actor="clerk")
        return sum(len(s.segments(f"cam{c}")) for c in range(cameras))


def _files(path):
    return {str(p.relative_to(path)) for p in (path / "segments").rglob("*.vvs")}


def _time_whole_sweep(pristine, path, key, now):
    """Seconds from the child's "go" to the end of an uninterrupted sweep."""
    shutil.copytree(pristine, path)
    child = _spawn("sweep", path, key.hex(), now)
    start = time.monotonic()
    assert child.stdout.readline().strip() == "done", child.stderr.read()
    took = time.monotonic() - start
    child.wait()
    shutil.rmtree(path)
    return took


def test_sweep_killed_midway_leaves_catalog_and_files_in_agreement(tmp_path):
    rng = random.Random(7)
    key = vidvault.generate_key()
    pristine = tmp_path / "pristine"
    total = _build(pristine, key)
    now = T0 + 300 * HOUR
    # Kill moments spread over the sweep as long as it takes on this machine
    # (a fixed range missed the deletion protocol once sweeps got faster).
    sweep_seconds = _time_whole_sweep(pristine, tmp_path / "timed", key, now)
    outcomes, finished = set(), 0
    for i in range(ITERATIONS):
        path = tmp_path / f"s{i}"
        shutil.copytree(pristine, path)
        child = _spawn("sweep", path, key.hex(), now)
        _kill_after(child, rng.uniform(0.0, 1.2 * sweep_seconds))
        with vidvault.Store.open(path, key=key) as s:
            finished += sum(r.action == "finished-deletion" for r in s.recovery_report)
            rows = {seg.path for c in range(4) for seg in s.segments(f"cam{c}")}
            assert rows == _files(path), "catalog and files disagree after a killed sweep"
            report = s.fsck()
            assert report.ok, [str(p) for p in report.problems]
            held = s.segments("cam0", T0 + 10 * HOUR, T0 + 20 * HOUR)
            assert len(held) == 10, "held footage lost"
            outcomes.add(len(rows))
            # Finishing the sweep now gives the same end state as an uninterrupted one.
            s.enforce_retention(now)
            final = {seg.path for c in range(4) for seg in s.segments(f"cam{c}")}
            assert final == _files(path)
            assert len(final) == 4 * 72 + 10  # the last 3 days (max_age) of each camera, and the hold
        shutil.rmtree(path)
    assert max(outcomes) <= total
    # Kills landed before, during and after the deletion protocol.
    assert finished > 0, "no kill landed between marking and unlinking"


def test_rotation_killed_midway_leaves_old_or_new_key_working(tmp_path):
    rng = random.Random(11)
    key = vidvault.generate_key()
    path = tmp_path / "s"
    _build(path, key, cameras=12, hours=200)  # ~100 key-encryption keys to re-wrap
    current = key
    opened_with = {"old": 0, "new": 0}
    for _ in range(ITERATIONS):
        new = vidvault.generate_key()
        child = _spawn("rotate", path, current.hex(), new.hex())
        _kill_after(child, rng.uniform(0.0, 0.02))
        works = []
        for name, k in (("old", current), ("new", new)):
            try:
                with vidvault.Store.open(path, key=k) as s:
                    assert sum(1 for _ in s.read("cam3", T0, T0 + 200 * HOUR)) == 200
                    works.append(name)
            except vidvault.WrongKeyError:
                pass
        assert len(works) == 1, f"after a killed rotation these keys open the store: {works}"
        opened_with[works[0]] += 1
        current = current if works[0] == "old" else new
    assert not list(path.glob("keys.vvk.tmp")), "a half-written keystore was left behind"
