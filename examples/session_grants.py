"""Issue a grant, open a session with it, and read the audit log.

Shows: an administrator signs a grant (who, which actions, which cameras,
which stretch of footage, until when, for which case) with the store's
admin key; a service opens ``store.session(principal, grants=[token])``
for the person it serves, and every call through the session is checked
against the grant and written to the audit log *before* anything is read,
allowed or denied. The grant here allows ``view_raw`` on the cameras
labelled ``area=district-3``, for one minute of footage; reading another
camera, another minute, or doing something else (placing a hold) raises
``vidvault.AccessDenied``. Finally the log is listed and its hash chain and
signatures verified.

Run::

    python examples/session_grants.py [WORKDIR]

Exits non-zero when the session allows what it should not (or refuses what
it should allow), or the log misses an attempt.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

import vidvault

GATE, DEPOT = "34020000001320000001", "34020000001320000009"
T0 = 1_763_700_000 * 1_000_000_000  # 2025-11-21T04:40:00Z
NS = 1_000_000_000


def check(ok: object, what: str) -> None:
    """Fails the example (exit status 1) when a result is not what it should be."""
    if not ok:
        raise SystemExit(f"FAILED: {what}")


def encode_clip(path: Path, seconds: int = 3, fps: int = 25) -> Path:
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


def denied(call) -> str | None:
    """The reason a session call was refused, or None if it was allowed."""
    try:
        result = call()
        if hasattr(result, "__next__"):
            list(result)
    except vidvault.AccessDenied as e:
        return str(e)
    return None


def main(workdir: Path) -> int:
    workdir.mkdir(parents=True)
    clip = str(encode_clip(workdir / "clip.mp4"))
    with vidvault.Store.create(workdir / "store", key=vidvault.generate_key()) as store:
        store.add_camera(GATE, labels={"area": "district-3"})
        store.add_camera(DEPOT, labels={"area": "district-9"})
        for camera in (GATE, DEPOT):
            vidvault.ingest(store, camera, clip, start=T0)

        token = store.issue_grant(
            to="officer.wang", actions=["view_raw"], cameras=["label:area=district-3"],
            footage_from=T0, footage_to=T0 + 60 * NS, valid_until=time.time_ns() + 3600 * NS,
            case="CASE-2026-114", issued_by="admin.zhao", purpose="identify a suspect",
        )
        print(f"grant          {token[:24]}... (signed; verifiable with store.admin_public_key())")

        session = store.session("officer.wang", [token], purpose="identify a suspect")
        frames = list(session.read(GATE, T0, T0 + 2 * NS))
        print(f"allowed        read of {GATE}: {len(frames)} access units")
        check(len(frames) == 50, f"the granted read returned {len(frames)} frames, not 50")

        refusals = {
            "another camera": lambda: session.read(DEPOT, T0, T0 + 2 * NS),
            "footage outside the window": lambda: session.read(GATE, T0 + 120 * NS, T0 + 122 * NS),
            "an action not granted": lambda: session.hold(GATE, T0, T0 + NS, case="CASE-2026-114"),
        }
        for what, call in refusals.items():
            reason = denied(call)
            print(f"denied         {what}: {reason}")
            check(reason is not None, f"the session allowed {what}")

        # Without any grant a principal may still see what exists, and desensitized footage only.
        anonymous = store.session("visitor")
        check(denied(lambda: anonymous.read(GATE, T0, T0 + NS)) is not None, "raw footage without a grant")
        check(len(anonymous.segments(GATE, T0, T0 + 10 * NS)) == 1, "listing footage needs no grant")

        entries = [e for e in store.audit() if e.principal in ("officer.wang", "visitor")]
        for e in entries:
            print(f"audit #{e.seq:<4}   {e.principal:12} {e.action:13} {e.outcome:7} {e.camera} {e.reason}")
        outcomes = [(e.action, e.outcome) for e in entries]
        check(outcomes.count(("view_raw", "denied")) == 3, "a denied read is missing from the log")
        check(("view_raw", "allowed") in outcomes and ("hold", "denied") in outcomes, "an attempt is missing")
        report = store.audit_verify()
        print(f"audit verify   {report.entries} entries, head #{report.head_seq}: "
              f"{'OK' if report.ok else report.problem}")
        check(report.ok, f"the audit log does not verify: {report.problem}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory(prefix="vidvault-grants-") as tmp:
        sys.exit(main(Path(tmp) / "work"))
