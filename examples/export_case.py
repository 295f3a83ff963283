"""Export an evidence case and verify it offline.

Shows: recording a camera, exporting a time window as a signed, bit-exact
evidence package (``raw=True``) with a watermarked viewing copy, verifying
the package with nothing but its files and the store's pinned public key,
and that flipping one bit of the clip fails verification.

Without ``raw=True`` an export is desensitized (faces and plates hidden,
re-encoded); a case that needs the original bytes asks for them.

Run (the store and the package go to a new temporary directory unless you
name one; it must not exist yet)::

    python examples/export_case.py [WORKDIR]

Exits non-zero when any check fails.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

import vidvault

CAMERA = "34020000001320000001"
#: The instant the footage was recorded at: 2025-11-21T04:40:00Z.
T0 = 1_763_700_000 * 1_000_000_000
NS = 1_000_000_000


def encode_clip(path: Path, seconds: int = 6, fps: int = 25) -> Path:
    """Synthetic 640x360 H.264 (libx264): a moving gradient, one-second
    closed GOPs and no B-frames, so the example stays small and fast."""
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


def check(ok: object, what: str) -> None:
    """Fails the example (exit status 1) when a result is not what it should be."""
    if not ok:
        raise SystemExit(f"FAILED: {what}")


def main(workdir: Path) -> int:
    workdir.mkdir(parents=True)
    key = vidvault.generate_key()  # keep it somewhere safe: without it the footage is gone
    clip = encode_clip(workdir / "camera.mp4")

    with vidvault.Store.create(workdir / "store", key=key) as store:
        store.add_camera(CAMERA, labels={"area": "district-3", "place": "gate"})
        recorded = vidvault.ingest(store, CAMERA, str(clip), start=T0)
        print(f"recorded       {recorded.frames} frames of {CAMERA}")

        package = workdir / "case-17"
        result = store.export_clip(
            CAMERA, T0 + 1_500_000_000, T0 + 4 * NS, package,
            raw=True,  # the recorded bytes, bit for bit (the default is a desensitized copy)
            watermark="COPY - case 17", case="CASE-17", reason="burglary at the gate", actor="clerk.li",
        )
        print(f"exported       {result.presented} frames shown, from {result.frames} stored ones: "
              f"{', '.join(sorted(p.name for p in package.iterdir()))}")
        # Pin the key out of band (print it, put it in the case file): a
        # package that carries its own key proves nothing about who made it.
        pinned = store.export_public_key()

    # Offline: no store, no master key; the package and the pinned key only.
    report = vidvault.verify(package, public_key=pinned)
    print(f"verify         {'VERIFIED' if report.ok else 'FAILED'} ({report.frames} frames, key {report.key_source})")
    for c in report.checks:
        print(f"  {'ok ' if c.ok else '-- ' if c.ok is None else 'BAD'} {c.name}: {c.detail}")
    check(report.ok, f"the package does not verify: {report.first_failure}")
    check(report.key_source == "pinned", "verified with the packaged key, not the pinned one")
    check((package / "clip.mp4").is_file() and (package / "clip.watermarked.mp4").is_file(),
          "the package lacks clip.mp4 or its watermarked copy")

    # One flipped bit anywhere in the clip fails verification.
    tampered = workdir / "case-17-tampered"
    shutil.copytree(package, tampered)
    data = bytearray((tampered / "clip.mp4").read_bytes())
    data[len(data) // 2] ^= 0x01
    (tampered / "clip.mp4").write_bytes(bytes(data))
    failure = vidvault.verify(tampered, public_key=pinned).first_failure
    print(f"tampered copy  {'FAILED: ' + failure.name if failure else 'NOT DETECTED'}")
    check(failure is not None, "a flipped bit went unnoticed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory(prefix="vidvault-export-") as tmp:
        sys.exit(main(Path(tmp) / "work"))
