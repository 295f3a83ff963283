"""Retention classes, a legal hold, enforce_retention, release.

Shows: every store starts with two retention classes, ``general`` (kept 30
days, the default) and ``key-site`` (90 days); a camera takes a class or a
policy of its own. ``enforce_retention`` deletes whole segments past their
camera's limit and crypto-shreds the keys of the days left empty, but never
touches footage under a legal hold: once the hold is released the next
sweep deletes it. ``now`` is injectable, so the example records footage
"in the past" instead of waiting a month; ``dry_run`` shows a sweep's plan
without changing anything. Holds, releases and sweeps are audited.

Run::

    python examples/retention_holds.py [WORKDIR]

Exits non-zero when retention keeps or deletes the wrong footage.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

import vidvault

GATE, BANK = "34020000001320000001", "34020000001320000002"
NS = 1_000_000_000
DAY = 86_400 * NS


def check(ok: object, what: str) -> None:
    """Fails the example (exit status 1) when a result is not what it should be."""
    if not ok:
        raise SystemExit(f"FAILED: {what}")


def encode_clip(path: Path, seconds: int = 2, fps: int = 25) -> Path:
    """Synthetic 640x360 H.264 (libx264, one-second closed GOPs, no B-frames)."""
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "veryfast",
                          "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0:bframes=0"}
        y, x = np.mgrid[0:360, 0:640]
        for i in range(seconds * fps):
            pic = np.stack([(x + 4 * i) % 256, (y + 2 * i) % 256, (x + y) % 256], axis=2).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def main(workdir: Path) -> int:
    workdir.mkdir(parents=True)
    clip = str(encode_clip(workdir / "clip.mp4"))
    now = time.time_ns()
    days_ago = {40: now - 40 * DAY, 35: now - 35 * DAY, 2: now - 2 * DAY}

    with vidvault.Store.create(workdir / "store", key=vidvault.generate_key()) as store:
        for name, policy in store.retention_classes().items():
            print(f"class          {name}: {policy}")
        store.add_camera(GATE)  # the store default: general
        store.add_camera(BANK, retention="key-site")
        for when in days_ago.values():  # oldest first: a camera's footage only moves forward
            vidvault.ingest(store, GATE, clip, start=when)
        vidvault.ingest(store, BANK, clip, start=days_ago[40])

        # Evidence for a case: the gate's footage of 35 days ago must stay.
        hold = store.hold(GATE, days_ago[35], days_ago[35] + 10 * NS, case="CASE-2026-114",
                          actor="clerk.li", reason="burglary at the gate")
        print(f"hold           #{hold.id} on {GATE} for case {hold.case}")

        plan = store.enforce_retention(dry_run=True)
        print(f"dry run        would delete {len(plan.deleted)} segments ({plan.deleted_bytes} bytes), "
              f"{plan.held_bytes} bytes held")
        check(len(store.segments(GATE)) == 3, "a dry run deleted footage")

        swept = store.enforce_retention()
        print(f"sweep          deleted {len(swept.deleted)} segments; shredded the keys of {swept.shredded}")
        starts = sorted(s.start for s in store.segments(GATE))
        check(starts == [days_ago[35], days_ago[2]], "the gate should keep the held day and the recent one")
        check(len(store.segments(BANK)) == 1, "key-site footage (90 days) was deleted at 40 days")
        check([cam for cam, _ in swept.shredded] == [GATE], "the emptied day's key was not shredded")
        check(list(store.read(GATE, days_ago[40], days_ago[40] + 10 * NS)) == [], "deleted footage still reads")

        released = store.release(hold.id, actor="clerk.li")
        print(f"release        #{released.id} by {released.released_by}")
        swept = store.enforce_retention()
        print(f"sweep          deleted {len(swept.deleted)} segments after the release")
        check([s.start for s in store.segments(GATE)] == [days_ago[2]], "released footage was kept")

        actions = [e.action for e in store.audit()]
        print(f"audit          {actions}")
        check({"hold", "hold_release", "retention_sweep"} <= set(actions),
              "the hold, its release or a sweep is missing from the audit log")
        check(store.audit_verify().ok, "the audit log does not verify")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory(prefix="vidvault-retention-") as tmp:
        sys.exit(main(Path(tmp) / "work"))
