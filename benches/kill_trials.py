"""kill -9 at random points, many trials per path: zero loss of synced frames.

Not part of CI (1,000 trials per path take minutes); `tests/test_faults_kill.py`
runs a few trials of each path. For each trial a forked child works on a
fresh store and reports, through a pipe, every frame index that `sync()` (or
`close()`) acknowledged; the parent kills it with SIGKILL after a random
delay, reopens the store (crash recovery runs) and checks that every
acknowledged frame is there, bit-exact, that nothing unacknowledged comes
back damaged, and that everything still reads.

Paths:
  ingest  appends and syncs on one camera (group commit running too);
  seal    rolls a segment every 5 frames and closes/reopens the writer every
          40 frames, so kills land in segment creation and sealing;
  sweep   retention sweeps deleting old segments (and shredding their day
          keys) while another camera ingests; held footage must survive whole.

    python benches/kill_trials.py --trials 1000 --path all
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import vidvault
from vidvault import Retention

NS = 1_000_000_000
FRAME = 40_000_000
T0 = 1_763_700_000 * NS  # 2025-11-21: old enough for a 1 h retention
KEY = bytes(range(32))
PATHS = ("ingest", "seal", "sweep")
HELD_SEGMENTS = range(20, 30)  # of the sweep path's 40 old 1 s segments


def data(camera: str, i: int) -> bytes:
    return f"{camera} {i:07d} ".encode() + bytes([i % 251]) * (400 + (i * 7919) % 6000)


def _ack(fd: int, i: int) -> None:
    os.write(fd, b"%d\n" % i)


# ---------------------------------------------------------------- child workloads (never return)


def _ingest(store_dir: Path, fd: int, rng: random.Random) -> None:
    with vidvault.Store.open(store_dir, key=KEY, sync_interval=0.05) as s:
        with s.writer("live", codec="h264", time_base=(1, 1_000_000_000)) as w:
            i = 0
            while True:
                w.append(T0 + i * FRAME, data("live", i), keyframe=i % 25 == 0, duration=FRAME)
                if rng.random() < 0.2:
                    w.sync()
                    _ack(fd, i)
                i += 1


def _seal(store_dir: Path, fd: int, rng: random.Random) -> None:
    with vidvault.Store.open(store_dir, key=KEY, sync_interval=0.05, roll_after=0.2) as s:
        i = 0
        while True:
            with s.writer("live", codec="h264", time_base=(1, 1_000_000_000)) as w:
                for _ in range(40):
                    w.append(T0 + i * FRAME, data("live", i), keyframe=i % 5 == 0, duration=FRAME)
                    if rng.random() < 0.1:
                        w.sync()
                        _ack(fd, i)
                    i += 1
            _ack(fd, i - 1)  # close() sealed and synced everything


def _sweep(store_dir: Path, fd: int, rng: random.Random) -> None:
    with vidvault.Store.open(store_dir, key=KEY, sync_interval=0.05) as s:
        with s.writer("live", codec="h264", time_base=(1, 1_000_000_000)) as w:
            i = 0
            now = T0 + 10 * NS
            while True:
                w.append(T0 + 3600 * NS + i * FRAME, data("live", i), keyframe=i % 25 == 0, duration=FRAME)
                if i % 10 == 0:
                    w.sync()
                    _ack(fd, i)
                    now += NS
                    # The trusted handle's what-if clock: each sweep ages one more segment out.
                    s.enforce_retention(now + 3600 * NS)
                i += 1


WORKLOADS = {"ingest": _ingest, "seal": _seal, "sweep": _sweep}


# ---------------------------------------------------------------- stores and checks


def _prepare(store_dir: Path, path: str) -> None:
    with vidvault.Store.create(store_dir, key=KEY, roll_after=1.0, sync_interval=0.05) as s:
        s.add_camera("live")
        if path != "sweep":
            return
        s.add_camera("old", retention=Retention(max_age=timedelta(hours=1), min_age="0s"))
        with s.writer("old", codec="h264", time_base=(1, 1_000_000_000)) as w:
            for i in range(40 * 25):
                w.append(T0 + i * FRAME, data("old", i), keyframe=i % 25 == 0, duration=FRAME)
        s.hold("old", T0 + HELD_SEGMENTS.start * NS, T0 + HELD_SEGMENTS.stop * NS, case="K-1", actor="bench")


def _verify(store_dir: Path, path: str, acked: int) -> str | None:
    """None when the reopened store kept every acknowledged frame; else what went wrong."""
    try:
        with vidvault.Store.open(store_dir, key=KEY) as s:
            live = {f.ts: bytes(f.data) for f in s.read("live", 0, 2**62)}
            old = {f.ts: bytes(f.data) for f in s.read("old", 0, 2**62)} if path == "sweep" else {}
    except Exception as e:  # noqa: BLE001
        return f"reopening or reading failed: {type(e).__name__}: {e}"
    base = T0 + 3600 * NS if path == "sweep" else T0
    lost = [i for i in range(acked + 1) if live.get(base + i * FRAME) != data("live", i)]
    if lost:
        return f"{len(lost)} acknowledged frames lost, first {lost[:5]} (acked up to {acked})"
    damaged = [ts for ts, d in live.items() if d != data("live", (ts - base) // FRAME)]
    if damaged:
        return f"{len(damaged)} frames came back damaged"
    if path == "sweep":
        held = range(HELD_SEGMENTS.start * 25, HELD_SEGMENTS.stop * 25)
        gone = [i for i in held if old.get(T0 + i * FRAME) != data("old", i)]
        if gone:
            return f"{len(gone)} held frames lost"
        if any(d != data("old", (ts - T0) // FRAME) for ts, d in old.items()):
            return "old footage came back damaged"
    return None


def _read_acks(fd: int) -> int:
    last = -1
    chunks = []
    while True:
        try:
            b = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not b:
            break
        chunks.append(b)
    for line in b"".join(chunks).split():
        last = max(last, int(line))
    return last


def trial(base: Path, path: str, rng: random.Random, max_delay: float) -> tuple[str | None, int]:
    store_dir = Path(tempfile.mkdtemp(dir=base)) / "store"
    _prepare(store_dir, path)
    r, wfd = os.pipe()
    seed = rng.randrange(2**32)
    pid = os.fork()
    if pid == 0:  # the child: work until killed
        os.close(r)
        try:
            WORKLOADS[path](store_dir, wfd, random.Random(seed))
        finally:
            os._exit(1)
    os.close(wfd)
    os.set_blocking(r, False)
    time.sleep(rng.uniform(0, max_delay))
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    acked = _read_acks(r)
    os.close(r)
    if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
        problem = f"the child ended before the kill (status {status})"
    else:
        problem = _verify(store_dir, path, acked)
    if problem is None:
        shutil.rmtree(store_dir.parent, ignore_errors=True)
    else:
        problem += f" [store kept at {store_dir}]"
    return problem, acked


def run(path: str, trials: int, base: Path, seed: int, max_delay: float, out=sys.stdout) -> int:
    rng = random.Random(seed)
    failures = 0
    acked_total = 0
    started = time.monotonic()
    for t in range(trials):
        problem, acked = trial(base, path, rng, max_delay)
        acked_total += acked + 1
        if problem:
            failures += 1
            print(f"{path} trial {t}: {problem}", file=out, flush=True)
    took = time.monotonic() - started
    print(f"{path}: {trials} trials, {failures} with loss, {acked_total} acknowledged frames checked, "
          f"{took:.0f} s", file=out, flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=1000, help="trials per path (default 1000)")
    p.add_argument("--path", choices=(*PATHS, "all"), default="all")
    p.add_argument("--dir", type=Path, default=None, help="where stores are made (default: a temp dir)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-delay", type=float, default=0.4, help="longest time before the kill, s")
    a = p.parse_args(argv)
    base = a.dir or Path(tempfile.mkdtemp(prefix="vidvault-kill-"))
    base.mkdir(parents=True, exist_ok=True)
    failures = 0
    for path in PATHS if a.path == "all" else (a.path,):
        failures += run(path, a.trials, base, a.seed, a.max_delay)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
